/**
 * The settings of ims-relay: one table from which the validated configuration, the command-line
 * flags, the environment variable names and the settings reference in the README are all derived,
 * so that the four cannot drift apart.
 */
import os from 'node:os';
import { z } from 'zod';
import { parseByteSize } from './byte-size.js';
import { parseHostPort, type HostPort } from './host-port.js';
import { isBareNumber, parseDuration } from './duration.js';
import { parseFailureRule, type FailureRule } from './failure-rules.js';
import { parseCidr } from './cidr.js';
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

export interface SettingDefinition {
  /** Key in the config file and in the resolved configuration. */
  key: string;
  /** The value placeholder shown in --help, e.g. HOST:PORT. Absent for switches. */
  valueName?: string;
  description: string;
  /** A flag that may be given more than once (and a list in the config file). */
  repeatable?: boolean;
  /** Default as a user would type it, shown in --help and the README; absent when derived. */
  defaultText: string;
  schema: z.ZodType;
}

export const SETTINGS = [
  {
    key: 'smtp',
    valueName: 'HOST:PORT',
    description: 'address the SMTP listener binds to; port 0 picks a free port',
    defaultText: '127.0.0.1:2525',
    schema: hostPort,
  },
  {
    key: 'spool',
    valueName: 'DIR',
    description: 'spool directory (pickup/ in/ out/ bad/ archive/ log/ tmp/ are created in it)',
    defaultText: './spool',
    schema: nonEmpty,
  },
  {
    key: 'hostname',
    valueName: 'NAME',
    description: 'name in the greeting, the EHLO reply and Received: headers',
    defaultText: os.hostname(),
    schema: nonEmpty.regex(/^[A-Za-z0-9.-]+$/, 'expected a host name (letters, digits, dots, hyphens)'),
  },
  {
    key: 'profile',
    valueName: 'ims|rfc',
    description:
      'reply profile: ims = Exchange 5.5 IMS texts, no enhanced status codes; rfc = ENHANCEDSTATUSCODES with RFC 3463 codes',
    defaultText: 'ims',
    schema: oneOf(['ims', 'rfc']),
  },
  {
    key: 'maxRecipients',
    valueName: 'N',
    description: 'recipients accepted per transaction; every RCPT after that gets 452 (IMS: 32766 = 0x7FFE)',
    defaultText: '32766',
    schema: integer(1),
  },
  {
    key: 'maxRecipientOvershoot',
    valueName: 'N',
    description:
      'opt-in: RCPT commands refused with 452 in one transaction before the server answers 421 and closes (Postfix style); off (0) = every RCPT after the cap gets 452, however many, as the IMS does (Q272672)',
    defaultText: 'off',
    schema: integerOrOff(1),
  },
  {
    key: 'maxMessageSize',
    valueName: 'BYTES',
    description: 'largest message accepted (advertised as SIZE; larger ones get 552)',
    defaultText: '25MB',
    schema: byteSize('a message size'),
  },
  {
    key: 'maxHeaderBytes',
    valueName: 'BYTES',
    description:
      'opt-in: largest header block accepted, counted while streaming; larger ones get 552; off = only --max-message-size limits it (a block over 32 KB is stored and gets information event 2113: an IMS before Exchange 5.5 SP2 stopped on it, Q193639)',
    defaultText: 'off',
    schema: byteSizeOrOff('a header size'),
  },
  {
    key: 'minFreeDisk',
    valueName: 'BYTES',
    description: 'free space the spool file system must keep; below it MAIL gets 452 and /readyz answers 503',
    defaultText: '1.5 x max-message-size',
    schema: byteSize('a free-space threshold'),
  },
  {
    key: 'events',
    valueName: 'FILE',
    description: 'event log (JSON lines)',
    defaultText: '<spool>/log/events.jsonl',
    schema: nonEmpty,
  },
  {
    key: 'bareLf',
    valueName: 'normalize|reject',
    description: 'a bare LF inside DATA: normalize = store it as CRLF; reject = refuse the message with 550',
    defaultText: 'normalize',
    schema: oneOf(['normalize', 'reject']),
  },
  {
    key: 'greetingDelayMs',
    valueName: 'MS',
    description:
      'wait before the 220 greeting; a client that talks earlier gets 421 (smtp-server waits 100 ms; 0 serves one-message-per-connection clients fast)',
    defaultText: '0',
    schema: integer(0, 60_000),
  },
  {
    key: 'maxClients',
    valueName: 'N',
    description: 'simultaneous SMTP connections; one more gets 421',
    defaultText: '1000',
    schema: integer(1),
  },
  {
    key: 'maxConnectionsPerIp',
    valueName: 'N',
    description: 'simultaneous SMTP connections from one client address; one more gets 421',
    defaultText: '100',
    schema: integer(1),
  },
  {
    key: 'transactionTimeout',
    valueName: 'DURATION',
    description:
      'longest time from MAIL FROM to the end of DATA, however steadily the client trickles bytes; past it 421 and the connection closes',
    defaultText: '10m',
    schema: duration(100),
  },
  {
    key: 'maxHeldRecipients',
    valueName: 'N',
    description:
      'recipients held in open transactions across all connections (about 300 bytes each); past it a new RCPT gets 452 4.3.1 try later',
    defaultText: '1000000',
    schema: integer(1),
  },
  {
    key: 'sessionTranscripts',
    valueName: 'N',
    description:
      'SMTP sessions whose transcripts are kept in memory (runs of RCPT folded) for /api/v1/sessions and the page; 0 = none',
    defaultText: '100',
    schema: integer(0, 10_000),
  },
  {
    key: 'socketTimeoutMs',
    valueName: 'MS',
    description: 'idle time after which a silent client is disconnected with 421',
    defaultText: '300000',
    schema: integer(1000),
  },
  {
    key: 'shutdownTimeoutMs',
    valueName: 'MS',
    description: 'on SIGTERM/SIGINT, how long transactions in flight may take before connections are closed',
    defaultText: '10000',
    schema: integer(0),
  },
  {
    key: 'reverseDns',
    description: 'look up the client address in reverse DNS for Received: headers (off: no lookup)',
    defaultText: 'false',
    schema: boolean,
  },
  {
    key: 'smtps',
    valueName: 'HOST:PORT|off',
    description:
      'a second SMTP listener with implicit TLS (SMTPS, usually port 465); needs --tls-cert and --tls-key',
    defaultText: 'off',
    schema: hostPortOrOff,
  },
  {
    key: 'tlsCert',
    valueName: 'FILE',
    description: 'PEM certificate (chain) for STARTTLS and --smtps; with --tls-key, STARTTLS is offered',
    defaultText: 'none',
    schema: optionalFile,
  },
  {
    key: 'tlsKey',
    valueName: 'FILE',
    description: 'PEM private key for --tls-cert',
    defaultText: 'none',
    schema: optionalFile,
  },
  {
    key: 'users',
    valueName: 'FILE',
    description:
      'SMTP AUTH (PLAIN, LOGIN) users, one USER:HASH line each (make a hash with `ims-relay hash-password`); offered only after TLS unless --allow-insecure-auth',
    defaultText: 'none',
    schema: optionalFile,
  },
  {
    key: 'allowInsecureAuth',
    description: 'offer AUTH on connections without TLS too',
    defaultText: 'false',
    schema: boolean,
  },
  {
    key: 'acceptAnyAuth',
    description:
      'for tests: offer AUTH (PLAIN, LOGIN) without TLS and accept any user name with any password; the name tags captured mail; it gives no relay permission (only --relay-networks does); not with --users',
    defaultText: 'false',
    schema: boolean,
  },
  {
    key: 'authFailureDelay',
    valueName: 'DURATION',
    description: 'wait before answering a failed AUTH (Postfix smtpd_error_sleep_time)',
    defaultText: '1s',
    schema: duration(0),
  },
  {
    key: 'authMaxFailures',
    valueName: 'N',
    description: 'failed AUTH attempts on one connection; the last is answered 421 and the connection closed',
    defaultText: '3',
    schema: integer(1),
  },
  {
    key: 'authMaxFailuresPerIp',
    valueName: 'N',
    description:
      'failed AUTH attempts from one client address within --auth-failure-window; past them AUTH gets 421 without a password check',
    defaultText: '10',
    schema: integer(1),
  },
  {
    key: 'authFailureWindow',
    valueName: 'DURATION',
    description: 'how long a failed AUTH counts against its client address',
    defaultText: '15m',
    schema: duration(1),
  },
  {
    key: 'localDomains',
    valueName: 'LIST',
    description:
      'relay mode: domains anyone may send to (comma-separated); other domains only from --relay-networks or after AUTH',
    defaultText: 'none',
    schema: stringList,
  },
  {
    key: 'relayNetworks',
    valueName: 'CIDRS',
    description:
      'relay mode: client networks that may relay without AUTH (comma-separated); everyone else gets 554 Relay access denied (554 5.7.1 with --profile rfc)',
    defaultText: '127.0.0.0/8,::1/128',
    schema: stringList.superRefine((list, ctx) => {
      for (const cidr of list) {
        const parsed = parseCidr(cidr);
        if (typeof parsed === 'string') ctx.addIssue({ code: 'custom', message: parsed });
      }
    }),
  },
  {
    key: 'routedAddresses',
    valueName: 'local|refuse',
    description:
      'relay mode: a sender-routed recipient (user%host@local, host!user@local, "user@host"@local) from a client outside --relay-networks without AUTH: local = accepted only when every host it routes through is in --local-domains; refuse = never (554)',
    defaultText: 'local',
    schema: z.enum(['local', 'refuse']),
  },
  {
    key: 'proxyProtocolFrom',
    valueName: 'CIDRS',
    description:
      'load balancers (comma-separated CIDRs) whose connections start with a PROXY protocol header (v1 or v2, HAProxy send-proxy); the address in it is the client address for everything; a connection from them without a valid header gets 421 after 5 s; none: off',
    defaultText: 'none',
    schema: stringList.superRefine((list, ctx) => {
      for (const cidr of list) {
        const parsed = parseCidr(cidr);
        if (typeof parsed === 'string') ctx.addIssue({ code: 'custom', message: parsed });
      }
    }),
  },
  {
    key: 'http',
    valueName: 'HOST:PORT|off',
    description:
      'address of the HTTP admin API (messages, events, mailboxes, failure rules, /metrics, /healthz); off to disable',
    defaultText: '127.0.0.1:8025',
    schema: hostPortOrOff,
  },
  {
    key: 'adminToken',
    valueName: 'TOKEN',
    description:
      'bearer token every admin API request must carry (Authorization: Bearer TOKEN); required when --http binds to anything but loopback',
    defaultText: 'none',
    schema: z.string().transform((v) => (v === 'none' || v === '' ? undefined : v)),
  },
  {
    key: 'adminHosts',
    valueName: 'NAMES',
    description:
      'host names the admin API answers to besides localhost and IP addresses (comma-separated), e.g. the name a compose network gives the relay; other Host headers get 421 (DNS rebinding)',
    defaultText: 'none',
    schema: stringList,
  },
  {
    key: 'mode',
    valueName: 'capture|relay|hold',
    description:
      'where accepted mail goes: capture = the message store under <spool>/store (one file per message, indexed in SQLite); relay = on to --upstream; hold = nowhere, it stays in in/',
    defaultText: 'capture',
    schema: oneOf(['capture', 'relay', 'hold']),
  },
  {
    key: 'upstream',
    valueName: 'URL',
    description:
      'next hop in relay mode: smtp://HOST:PORT (STARTTLS when offered), smtps://HOST:PORT (implicit TLS), smtp://USER:PASSWORD@HOST:PORT (AUTH)',
    defaultText: 'none',
    schema: upstreamUrl,
  },
  {
    key: 'upstreamMaxRecipients',
    valueName: 'N',
    description: 'recipients per upstream transaction; more are sent in further transactions',
    defaultText: '1000',
    schema: integer(1),
  },
  {
    key: 'upstreamTimeout',
    valueName: 'DURATION',
    description:
      'how long the upstream may stay silent (connecting, greeting, any reply) before the attempt is given up and retried later',
    defaultText: '2m',
    schema: duration(100),
  },
  {
    key: 'upstreamTlsVerify',
    description: 'verify the upstream TLS certificate (false: accept self-signed ones)',
    defaultText: 'true',
    schema: boolean,
  },
  {
    key: 'deliveryConcurrency',
    valueName: 'N',
    description: 'messages delivered at the same time (IMS Max Threads 0x20 = 32, Q169686)',
    defaultText: '32',
    schema: integer(1, 1000),
  },
  {
    key: 'retryInitial',
    valueName: 'DURATION',
    description: 'wait before the first retry of a temporary failure; doubles with each retry',
    defaultText: '5m',
    schema: duration(1),
  },
  {
    key: 'retryMax',
    valueName: 'DURATION',
    description: 'longest wait between retries',
    defaultText: '67m',
    schema: duration(1),
  },
  {
    key: 'lifetime',
    valueName: 'DURATION',
    description: 'how long a message is retried; then its pending recipients fail with 4.4.7',
    defaultText: '5d',
    schema: duration(1),
  },
  {
    key: 'tagPlusAddress',
    description:
      "capture mode: tag a message with the +tag of each recipient's local part (user+run42@x -> run42), besides its X-Ims-Relay-Tag: header",
    defaultText: 'false',
    schema: boolean,
  },
  {
    key: 'archive',
    description: 'keep delivered messages in archive/ instead of removing them',
    defaultText: 'false',
    schema: boolean,
  },
  {
    key: 'directCapture',
    description:
      'capture mode: store a message whose recipients are all simply captured at its final dot, before the 250 (false: every message goes through the queue and the delivery agent, as in relay mode)',
    defaultText: 'true',
    schema: boolean,
  },
  {
    key: 'maildir',
    valueName: 'DIR',
    description:
      'capture mode: also write a Maildir per recipient under DIR (LF line ends, Return-Path and Delivered-To lines), for Dovecot, mutt or an IMAP server; none = off',
    defaultText: 'none',
    schema: optionalFile,
  },
  {
    key: 'retainMessages',
    valueName: 'N',
    description:
      'captured messages kept in the message store; the oldest beyond N are removed (0 = no limit)',
    defaultText: '10000',
    schema: integer(0),
  },
  {
    key: 'retainAge',
    valueName: 'DURATION',
    description:
      'captured messages older than this are removed from the message store (e.g. 7d); off = no limit',
    defaultText: 'off',
    schema: orOff(duration(1000)),
  },
  {
    key: 'retainBytes',
    valueName: 'BYTES',
    description:
      'most bytes of message files the message store keeps; the oldest beyond it are removed (e.g. 1GB); off = no limit',
    defaultText: 'off',
    schema: orOff(byteSize('a store size')),
  },
  {
    key: 'fail',
    valueName: 'RULE',
    repeatable: true,
    description:
      "failure rule PATTERN=CODE TEXT, e.g. '*@bounce.test=550 5.1.1 User unknown': matching recipients fail at delivery with that reply (4xx: temporary); repeatable; one per line in the environment",
    defaultText: 'none',
    schema: failureRules,
  },
  {
    key: 'smtpRule',
    valueName: 'RULE',
    repeatable: true,
    description:
      "SMTP-stage rule STAGE[:MATCHER]=ACTION, e.g. 'rcpt:*@nouser.test=550 5.1.1 User unknown', 'rcpt:first-try=451 4.7.1 Greylisted', 'data=delay 2s': the server answers that at that moment (docs/testing.md); repeatable; one per line in the environment",
    defaultText: 'none',
    schema: smtpStageRules,
  },
  {
    key: 'maxProcessingFailures',
    valueName: 'N',
    description:
      'times in a row processing a message alone (no other message in progress, after an unclean stop or an error) may end in a crash or an error before it is moved to bad/ (event 4116)',
    defaultText: '3',
    schema: integer(1),
  },
  {
    key: 'ndrMaxRecipients',
    valueName: 'N',
    description: 'recipients listed in one non-delivery report; more are counted in event 3041 (Q272672)',
    defaultText: '32766',
    schema: integer(1),
  },
  {
    key: 'ndrOverflow',
    valueName: 'truncate|split',
    description:
      'when more recipients failed than one report lists: truncate = list the first ones; split = send further reports',
    defaultText: 'truncate',
    schema: oneOf(['truncate', 'split']),
  },
  {
    key: 'ndrMaxOriginalBytes',
    valueName: 'BYTES',
    description: 'a report includes the original message up to this size, otherwise only its headers',
    defaultText: '50KB',
    schema: byteSize('a size'),
  },
  {
    key: 'pickupInterval',
    valueName: 'DURATION',
    description: 'how often pickup/ is scanned for new files',
    defaultText: '1s',
    schema: duration(10),
  },
  {
    key: 'logLevel',
    valueName: 'LEVEL',
    description: 'structured log on stdout: silent, error, warn, info or debug',
    defaultText: 'info',
    schema: oneOf(['silent', 'error', 'warn', 'info', 'debug']),
  },
] as const satisfies readonly SettingDefinition[];

export type SettingKey = (typeof SETTINGS)[number]['key'];

/** `maxRecipients` -> `max-recipients` (the flag without its dashes). */
export function flagName(key: string): string {
  return key.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
}

/** `maxRecipients` -> `IMS_RELAY_MAX_RECIPIENTS`. */
export function envName(key: string): string {
  return 'IMS_RELAY_' + flagName(key).replace(/-/g, '_').toUpperCase();
}
