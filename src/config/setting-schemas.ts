/**
 * How each setting's value is checked and converted (from a flag, an environment variable or the
 * config file), keyed like the table in settings.ts. Only resolving a configuration loads this
 * (and zod with it).
 */
import { z } from 'zod';
import { parseByteSize } from './byte-size.js';
import { parseHostPort, type HostPort } from './host-port.js';
import { isBareNumber, parseDuration } from './duration.js';
import { parseFailureRule, type FailureRule } from './failure-rules.js';
import { parseCidr } from './cidr.js';
import type { SettingKey } from './settings.js';
import { parseSmtpStageRule, type SmtpStageRule } from './smtp-stage-rule.js';

const byteSize = (what: string) =>
  z.union([z.string(), z.number()]).transform((value, ctx) => {
    const bytes = parseByteSize(value);
    if (bytes === undefined) {
      ctx.addIssue({ code: 'custom', message: `expected ${what} (bytes, or with a unit: 512k, 25MB, 1GB)` });
      return z.NEVER;
    }
    return bytes;
  });

/** A byte size, or `off` (0: no limit of its own). */
const byteSizeOrOff = (what: string) =>
  z.union([z.string(), z.number()]).transform((value, ctx) => {
    if (typeof value === 'string' && value.trim().toLowerCase() === 'off') return 0;
    const bytes = parseByteSize(value);
    if (bytes === undefined) {
      ctx.addIssue({
        code: 'custom',
        message: `expected ${what} (bytes, or with a unit: 512k, 25MB, 1GB), or off`,
      });
      return z.NEVER;
    }
    return bytes;
  });

const integer = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z.union([z.string(), z.number()]).transform((value, ctx) => {
    const n = typeof value === 'number' ? value : /^\s*\d+\s*$/.test(value) ? Number(value) : NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      ctx.addIssue({ code: 'custom', message: `expected a whole number from ${min} to ${max}` });
      return z.NEVER;
    }
    return n;
  });

/** A whole number, or `off` (0: the check is not made). */
const integerOrOff = (min: number) =>
  z.union([z.string(), z.number()]).transform((value, ctx) => {
    if (typeof value === 'string' && value.trim().toLowerCase() === 'off') return 0;
    const n = typeof value === 'number' ? value : /^\s*\d+\s*$/.test(value) ? Number(value) : NaN;
    if (n === 0) return 0;
    if (!Number.isSafeInteger(n) || n < min) {
      ctx.addIssue({ code: 'custom', message: `expected a whole number from ${min}, or off (0)` });
      return z.NEVER;
    }
    return n;
  });

const boolean = z.union([z.boolean(), z.string()]).transform((value, ctx) => {
  if (typeof value === 'boolean') return value;
  const v = value.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off'].includes(v)) return false;
  ctx.addIssue({ code: 'custom', message: 'expected true or false' });
  return z.NEVER;
});

const hostPort = z.string().transform((value, ctx): HostPort => {
  const parsed = parseHostPort(value);
  if (typeof parsed === 'string') {
    ctx.addIssue({ code: 'custom', message: parsed });
    return z.NEVER;
  }
  return parsed;
});

const nonEmpty = z.string().trim().min(1, 'must not be empty');

/** One of a few words; the message lists them (`expected one of: ims, rfc`). */
const oneOf = <const T extends readonly [string, ...string[]]>(values: T) =>
  z.enum(values, { error: () => `expected one of: ${values.join(', ')}` });

/** HOST:PORT, or `off` (undefined). */
const hostPortOrOff = z.string().transform((value, ctx): HostPort | undefined => {
  if (value.trim().toLowerCase() === 'off') return undefined;
  const parsed = parseHostPort(value);
  if (typeof parsed === 'string') {
    ctx.addIssue({
      code: 'custom',
      message: parsed.replace(/^expected HOST:PORT/, 'expected HOST:PORT or off'),
    });
    return z.NEVER;
  }
  return parsed;
});

const optionalFile = z.string().transform((v) => (v === 'none' || v.trim() === '' ? undefined : v.trim()));

const stringList = z
  .union([z.string(), z.array(z.string())])
  .transform((value) =>
    (Array.isArray(value) ? value : value === 'none' ? [] : value.split(','))
      .map((v) => v.trim())
      .filter(Boolean),
  );

const duration = (min: number) =>
  z.union([z.string(), z.number()]).transform((value, ctx) => {
    if (isBareNumber(value)) {
      ctx.addIssue({
        code: 'custom',
        message: `a duration needs a unit: write e.g. 5s or 5m (units ms, s, m, h, d), not a bare number`,
      });
      return z.NEVER;
    }
    const ms = parseDuration(value);
    if (ms === undefined || ms < min) {
      ctx.addIssue({
        code: 'custom',
        message: `expected a duration of at least ${min} ms (e.g. 500ms, 30s, 5m, 2h, 5d)`,
      });
      return z.NEVER;
    }
    return ms;
  });

/** A value, or `off` (undefined). */
const orOff = <T>(inner: z.ZodType<T>) =>
  z.union([z.string(), z.number()]).transform((value, ctx): T | undefined => {
    if (typeof value === 'string' && ['off', 'none', ''].includes(value.trim().toLowerCase()))
      return undefined;
    const parsed = inner.safeParse(value);
    if (!parsed.success) {
      ctx.addIssue({ code: 'custom', message: `${parsed.error.issues[0]?.message ?? 'invalid'}, or off` });
      return z.NEVER;
    }
    return parsed.data;
  });

const failureRules = z.union([z.string(), z.array(z.string())]).transform((value, ctx): FailureRule[] => {
  // one rule per flag or list entry; in the environment, one rule per line
  const sources = (Array.isArray(value) ? value : value === 'none' ? [] : value.split(/\r?\n/))
    .map((r) => r.trim())
    .filter(Boolean);
  const rules: FailureRule[] = [];
  for (const source of sources) {
    const rule = parseFailureRule(source);
    if (typeof rule === 'string') {
      ctx.addIssue({ code: 'custom', message: rule });
      return z.NEVER;
    }
    rules.push(rule);
  }
  return rules;
});

const smtpStageRules = z.union([z.string(), z.array(z.string())]).transform((value, ctx): SmtpStageRule[] => {
  // one rule per flag or list entry; in the environment, one rule per line
  const sources = (Array.isArray(value) ? value : value === 'none' ? [] : value.split(/\r?\n/))
    .map((r) => r.trim())
    .filter(Boolean);
  const rules: SmtpStageRule[] = [];
  for (const source of sources) {
    const rule = parseSmtpStageRule(source);
    if (typeof rule === 'string') {
      ctx.addIssue({ code: 'custom', message: rule });
      return z.NEVER;
    }
    rules.push(rule);
  }
  return rules;
});

const upstreamUrl = z.string().transform((value, ctx) => {
  if (value === '' || value === 'none') return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'expected smtp://[USER:PASSWORD@]HOST:PORT or smtps://…' });
    return z.NEVER;
  }
  if (!['smtp:', 'smtps:'].includes(url.protocol) || !url.hostname) {
    ctx.addIssue({ code: 'custom', message: 'expected smtp://[USER:PASSWORD@]HOST:PORT or smtps://…' });
    return z.NEVER;
  }
  return url.toString();
});

export const SETTING_SCHEMAS = {
  smtp: hostPort,
  spool: nonEmpty,
  hostname: nonEmpty.regex(/^[A-Za-z0-9.-]+$/, 'expected a host name (letters, digits, dots, hyphens)'),
  profile: oneOf(['ims', 'rfc']),
  maxRecipients: integer(1),
  maxRecipientOvershoot: integerOrOff(1),
  maxMessageSize: byteSize('a message size'),
  maxHeaderBytes: byteSizeOrOff('a header size'),
  minFreeDisk: byteSize('a free-space threshold'),
  events: nonEmpty,
  bareLf: oneOf(['normalize', 'reject']),
  greetingDelayMs: integer(0, 60_000),
  maxClients: integer(1),
  maxConnectionsPerIp: integer(1),
  transactionTimeout: duration(100),
  maxHeldRecipients: integer(1),
  sessionTranscripts: integer(0, 10_000),
  socketTimeoutMs: integer(1000),
  shutdownTimeoutMs: integer(0),
  reverseDns: boolean,
  smtps: hostPortOrOff,
  tlsCert: optionalFile,
  tlsKey: optionalFile,
  users: optionalFile,
  allowInsecureAuth: boolean,
  acceptAnyAuth: boolean,
  authFailureDelay: duration(0),
  authMaxFailures: integer(1),
  authMaxFailuresPerIp: integer(1),
  authFailureWindow: duration(1),
  localDomains: stringList,
  relayNetworks: stringList.superRefine((list, ctx) => {
    for (const cidr of list) {
      const parsed = parseCidr(cidr);
      if (typeof parsed === 'string') ctx.addIssue({ code: 'custom', message: parsed });
    }
  }),
  routedAddresses: z.enum(['local', 'refuse']),
  proxyProtocolFrom: stringList.superRefine((list, ctx) => {
    for (const cidr of list) {
      const parsed = parseCidr(cidr);
      if (typeof parsed === 'string') ctx.addIssue({ code: 'custom', message: parsed });
    }
  }),
  http: hostPortOrOff,
  adminToken: z.string().transform((v) => (v === 'none' || v === '' ? undefined : v)),
  adminHosts: stringList,
  mode: oneOf(['capture', 'relay', 'hold']),
  upstream: upstreamUrl,
  upstreamMaxRecipients: integer(1),
  upstreamTimeout: duration(100),
  upstreamTlsVerify: boolean,
  deliveryConcurrency: integer(1, 1000),
  retryInitial: duration(1),
  retryMax: duration(1),
  lifetime: duration(1),
  tagPlusAddress: boolean,
  archive: boolean,
  directCapture: boolean,
  maildir: optionalFile,
  retainMessages: integer(0),
  retainAge: orOff(duration(1000)),
  retainBytes: orOff(byteSize('a store size')),
  fail: failureRules,
  smtpRule: smtpStageRules,
  maxProcessingFailures: integer(1),
  ndrMaxRecipients: integer(1),
  ndrOverflow: oneOf(['truncate', 'split']),
  ndrMaxOriginalBytes: byteSize('a size'),
  pickupInterval: duration(10),
  logLevel: oneOf(['silent', 'error', 'warn', 'info', 'debug']),
} as const satisfies Record<SettingKey, z.ZodType>;
