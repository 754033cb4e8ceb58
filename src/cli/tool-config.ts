import { resolveConfig, type RawSettings, type RelayConfig } from '../config/relay-config.js';
import type { CliIO } from './cli-io.js';

/**
 * The configuration a tool command (health, queue, events, mailbox) works with: the same sources
 * as `serve` — config file, IMS_RELAY_* and the flags the command has. A bad value is reported
 * on stderr; the caller exits 2.
 */
export function resolveToolConfig(
  options: { config?: string; spool?: string; smtp?: string; adminToken?: string },
  io: CliIO,
): { ok: true; config: RelayConfig } | { ok: false } {
  const flags: RawSettings = {};
  if (options.spool) flags.spool = options.spool;
  if (options.adminToken) flags.adminToken = options.adminToken;
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
