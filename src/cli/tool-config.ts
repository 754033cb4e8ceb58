import type { RawSettings, RelayConfig } from '../config/relay-config.js';
import { SETTINGS, envName } from '../config/settings.js';
import path from 'node:path';
import type { CliIO } from './cli-io.js';

interface ToolOptions {
  config?: string;
  spool?: string;
  smtp?: string;
  adminToken?: string;
}

/**
 * The configuration a tool command (health, queue, events, mailbox) works with: the same sources
 * as `serve` — config file, IMS_RELAY_* and the flags the command has. A bad value is reported
 * on stderr; the caller exits 2. The checks of the settings (zod, yaml) are loaded here, when a
 * command needs them.
 */
export async function resolveToolConfig(
  options: ToolOptions,
  io: CliIO,
): Promise<{ ok: true; config: RelayConfig } | { ok: false }> {
  const flags: RawSettings = {};
  if (options.spool) flags.spool = options.spool;
  if (options.adminToken) flags.adminToken = options.adminToken;
  const { resolveConfig } = await import('../config/relay-config.js');
  const resolved = resolveConfig({
    flags,
    env: io.env,
    serve: false,
    ...(options.config ? { configFile: options.config } : {}),
  });
  if (!resolved.ok) {
    io.stderr.write(`ims-relay: ${resolved.message}\n`);
    return { ok: false };
  }
  return resolved;
}

/** What the queue commands use of the configuration. */
export type QueueToolConfig = Pick<RelayConfig, 'spool' | 'adminToken'>;

/** The settings the queue commands read; any other one given means the whole configuration is checked. */
const QUEUE_TOOL_KEYS = new Set<string>(['spool', 'adminToken']);

/**
 * The spool and the admin API token for a queue command. When they are all that is given (no
 * config file, no IMS_RELAY_* variable for another setting), they are taken from the flags, the
 * environment and the defaults with the same precedence and the same meaning as in
 * `resolveToolConfig`, without loading the checks of all the settings (zod and yaml took most of
 * the time of a `queue list --count`); otherwise the whole configuration is resolved and checked
 * as for the other tools, so a bad setting is reported the same way.
 */
export async function resolveQueueToolConfig(
  options: ToolOptions,
  io: CliIO,
): Promise<{ ok: true; config: QueueToolConfig } | { ok: false }> {
  const given = (key: string) => {
    const v = io.env[envName(key)];
    return v !== undefined && v !== '';
  };
  const onlyQueueSettings =
    !options.config && SETTINGS.every((s) => QUEUE_TOOL_KEYS.has(s.key) || !given(s.key));
  const defaultSpool = SETTINGS.find((s) => s.key === 'spool')!.defaultText;
  const spool = (options.spool || (given('spool') ? io.env[envName('spool')]! : defaultSpool)).trim();
  if (!onlyQueueSettings || spool === '') return resolveToolConfig(options, io);
  const token = options.adminToken || io.env[envName('adminToken')] || undefined;
  return {
    ok: true,
    config: { spool: path.resolve(spool), adminToken: token === 'none' ? undefined : token },
  };
}
