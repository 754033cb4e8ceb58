import path from 'node:path';
import fs from 'node:fs';
import { z } from 'zod';
import YAML from 'yaml';
import type { HostPort } from './host-port.js';
import type { FailureRule } from './failure-rules.js';
import type { SmtpStageRule } from './smtp-stage-rule.js';
import { SETTING_SCHEMAS } from './setting-schemas.js';
import { SETTINGS, envName, flagName, type SettingKey } from './settings.js';

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** The validated configuration the relay runs with. */
export interface RelayConfig {
  smtp: HostPort;
  spool: string;
  hostname: string;
  profile: 'ims' | 'rfc';
  maxRecipients: number;
  /** 0: off, every RCPT past the cap gets 452. */
  maxRecipientOvershoot: number;
  maxMessageSize: number;
  /** 0: off, only maxMessageSize limits the header block. */
  maxHeaderBytes: number;
  minFreeDisk: number;
  events: string;
  bareLf: 'normalize' | 'reject';
  greetingDelayMs: number;
  maxClients: number;
  maxConnectionsPerIp: number;
  transactionTimeout: number;
  maxHeldRecipients: number;
  sessionTranscripts: number;
  socketTimeoutMs: number;
  shutdownTimeoutMs: number;
  reverseDns: boolean;
  logLevel: 'silent' | 'error' | 'warn' | 'info' | 'debug';
  smtps: HostPort | undefined;
  tlsCert: string | undefined;
  tlsKey: string | undefined;
  users: string | undefined;
  allowInsecureAuth: boolean;
  acceptAnyAuth: boolean;
  authFailureDelay: number;
  authMaxFailures: number;
  authMaxFailuresPerIp: number;
  authFailureWindow: number;
  localDomains: string[];
  relayNetworks: string[];
  routedAddresses: 'local' | 'refuse';
  proxyProtocolFrom: string[];
  /** The admin API's address; undefined when it is off. */
  http: HostPort | undefined;
  adminToken: string | undefined;
  adminHosts: string[];
  mode: 'capture' | 'relay' | 'hold';
  /** The upstream URL in relay mode; undefined when none is set. */
  upstream: string | undefined;
  upstreamMaxRecipients: number;
  upstreamTlsVerify: boolean;
  upstreamTimeout: number;
  deliveryConcurrency: number;
  retryInitial: number;
  retryMax: number;
  lifetime: number;
  archive: boolean;
  directCapture: boolean;
  /** Capture mode: the folder of the optional per-recipient Maildirs. */
  maildir: string | undefined;
  retainMessages: number;
  /** ms; undefined: no age limit. */
  retainAge: number | undefined;
  /** undefined: no size limit. */
  retainBytes: number | undefined;
  fail: FailureRule[];
  smtpRule: SmtpStageRule[];
  tagPlusAddress: boolean;
  maxProcessingFailures: number;
  ndrMaxRecipients: number;
  ndrOverflow: 'truncate' | 'split';
  ndrMaxOriginalBytes: number;
  pickupInterval: number;
}

/** Raw values by setting key, as one source gave them (strings from flags and environment). */
export type RawSettings = Partial<Record<SettingKey, unknown>>;

export interface ConfigSources {
  /** Values from command-line flags (highest precedence). */
  flags?: RawSettings;
  /** The process environment; only IMS_RELAY_* names are read. */
  env?: Record<string, string | undefined>;
  /** A JSON or YAML config file (lowest precedence above the defaults). */
  configFile?: string;
  /** Directory relative paths are resolved against (default: the current directory). */
  cwd?: string;
  /**
   * False for the tool commands (queue, events, health …): they only need the spool and addresses,
   * so the checks that only matter for running the relay (TLS pairs, admin token, upstream) are skipped.
   */
  serve?: boolean;
}

export type ConfigResult = { ok: true; config: RelayConfig } | { ok: false; message: string };

const KEYS = new Set<string>(SETTINGS.map((s) => s.key));

function readConfigFile(file: string): { ok: true; values: RawSettings } | { ok: false; message: string } {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    return { ok: false, message: `cannot read config file ${file}: ${(err as Error).message}` };
  }
  let parsed: unknown;
  try {
    parsed = /\.json$/i.test(file) ? JSON.parse(text) : YAML.parse(text);
  } catch (err) {
    return {
      ok: false,
      message: `config file ${file} is not valid ${/\.json$/i.test(file) ? 'JSON' : 'YAML'}: ${(err as Error).message}`,
    };
  }
  if (parsed === null || parsed === undefined) return { ok: true, values: {} };
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    return { ok: false, message: `config file ${file} must hold a mapping of settings` };
  }
  const unknown = unknownSettings(Object.keys(parsed), `config file ${file}`);
  if (unknown) return { ok: false, message: unknown };
  return { ok: true, values: parsed as RawSettings };
}

/**
 * The message for keys that are not settings (`maxRecipent`), or undefined when all are known.
 * `where` names the source: "config file relay.yaml", "startRelay options".
 */
export function unknownSettings(keys: readonly string[], where: string): string | undefined {
  const unknown = keys.filter((k) => !KEYS.has(k));
  if (unknown.length === 0) return undefined;
  return `${where}: unknown setting${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} (known: ${[...KEYS].join(', ')})`;
}

/** A file setting (`--tls-cert`) whose file cannot be read: the message, or undefined when it can. */
function unreadableFile(key: 'tlsCert' | 'tlsKey' | 'users', file: string | undefined, cwd: string) {
  if (!file) return undefined;
  try {
    fs.accessSync(path.resolve(cwd, file), fs.constants.R_OK);
    return undefined;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    return `invalid setting ${key} (--${flagName(key)}, ${envName(key)}): cannot read ${JSON.stringify(file)}: ${code === 'ENOENT' ? 'no such file (ENOENT)' : code}`;
  }
}

/**
 * Resolves the configuration: defaults < config file < environment (IMS_RELAY_*) < flags.
 * An invalid value gives one message that names the setting, its flag, its variable and where the
 * value came from.
 */
export function resolveConfig(sources: ConfigSources = {}): ConfigResult {
  const cwd = sources.cwd ?? process.cwd();
  const merged: Record<string, unknown> = {};
  const origin: Record<string, string> = {};
  const apply = (values: RawSettings, from: (key: string) => string) => {
    for (const [key, value] of Object.entries(values)) {
      if (value === undefined) continue;
      merged[key] = value;
      origin[key] = from(key);
    }
  };

  for (const s of SETTINGS) {
    if (s.key === 'minFreeDisk' || s.key === 'events') continue; // derived below
    merged[s.key] = s.defaultText;
    origin[s.key] = 'the default';
  }
  if (sources.configFile) {
    const file = readConfigFile(sources.configFile);
    if (!file.ok) return file;
    apply(file.values, () => `config file ${sources.configFile}`);
  }
  if (sources.env) {
    const fromEnv: RawSettings = {};
    for (const s of SETTINGS) {
      const v = sources.env[envName(s.key)];
      if (v !== undefined && v !== '') fromEnv[s.key] = v;
    }
    apply(fromEnv, (key) => `environment variable ${envName(key)}`);
  }
  if (sources.flags) apply(sources.flags, (key) => `flag --${flagName(key)}`);

  const shape: Record<string, z.ZodType> = {};
  for (const s of SETTINGS) {
    const schema: z.ZodType = SETTING_SCHEMAS[s.key];
    shape[s.key] = s.key === 'minFreeDisk' || s.key === 'events' ? schema.optional() : schema;
  }
  const result = z.object(shape).safeParse(merged);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const key = String(issue.path[0] ?? '');
    const shown = JSON.stringify(merged[key]);
    return {
      ok: false,
      message: `invalid setting ${key} (--${flagName(key)}, ${envName(key)}): ${issue.message}; got ${shown} from ${origin[key] ?? 'nowhere'}`,
    };
  }
  const v = result.data as Omit<RelayConfig, 'minFreeDisk' | 'events'> & {
    minFreeDisk?: number;
    events?: string;
  };
  const serveChecks = sources.serve !== false;
  if (serveChecks && Boolean(v.tlsCert) !== Boolean(v.tlsKey)) {
    return {
      ok: false,
      message: `invalid setting ${v.tlsCert ? 'tlsKey (--tls-key' : 'tlsCert (--tls-cert'}): --tls-cert and --tls-key go together`,
    };
  }
  for (const key of ['tlsCert', 'tlsKey', 'users'] as const) {
    const unreadable = serveChecks ? unreadableFile(key, v[key], cwd) : undefined;
    if (unreadable) return { ok: false, message: unreadable };
  }
  if (v.users && v.acceptAnyAuth) {
    return {
      ok: false,
      message: `invalid setting acceptAnyAuth (--accept-any-auth, ${envName('acceptAnyAuth')}): it accepts any password, so it cannot go with --users; give one of them`,
    };
  }
  if (serveChecks && v.users && !v.tlsCert && !v.allowInsecureAuth) {
    return {
      ok: false,
      message: `invalid setting users (--users, ${envName('users')}): AUTH is offered only after TLS; give --tls-cert and --tls-key, or --allow-insecure-auth`,
    };
  }
  if (serveChecks && v.smtps && !v.tlsCert) {
    return {
      ok: false,
      message: `invalid setting smtps (--smtps, ${envName('smtps')}): implicit TLS needs --tls-cert and --tls-key`,
    };
  }
  if (serveChecks && v.http && !isLoopback(v.http.host) && !v.adminToken) {
    return {
      ok: false,
      message: `invalid setting adminToken (--admin-token, ${envName('adminToken')}): the admin API on ${v.http.host} is reachable from other hosts, so it needs a token`,
    };
  }
  if (serveChecks && v.mode === 'relay' && !v.upstream) {
    return {
      ok: false,
      message: `invalid setting upstream (--upstream, ${envName('upstream')}): relay mode needs an upstream, e.g. --upstream smtp://mail.example.test:25`,
    };
  }
  const spool = path.resolve(cwd, v.spool);
  return {
    ok: true,
    config: {
      ...v,
      spool,
      maildir: v.maildir ? path.resolve(cwd, v.maildir) : undefined,
      minFreeDisk: v.minFreeDisk ?? Math.ceil(1.5 * v.maxMessageSize),
      events: v.events ? path.resolve(cwd, v.events) : path.join(spool, 'log', 'events.jsonl'),
    },
  };
}
