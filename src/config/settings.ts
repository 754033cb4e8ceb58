/**
 * The settings of ims-relay: one table from which the validated configuration (with each
 * setting's check in setting-schemas.ts), the command-line flags, the environment variable names
 * and the settings reference in the README are all derived, so that they cannot drift apart.
 * This table loads nothing but `os`: the command line builds its flags and help from it without
 * loading the checks.
 */
import os from 'node:os';

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
}

export const SETTINGS = [
  {
    key: 'smtp',
    valueName: 'HOST:PORT',
    description: 'address the SMTP listener binds to; port 0 picks a free port',
    defaultText: '127.0.0.1:2525',
  },
  {
    key: 'spool',
    valueName: 'DIR',
    description: 'spool directory (pickup/ in/ out/ bad/ archive/ log/ tmp/ are created in it)',
    defaultText: './spool',
  },
  {
    key: 'hostname',
    valueName: 'NAME',
    description: 'name in the greeting, the EHLO reply and Received: headers',
    defaultText: os.hostname(),
  },
  {
    key: 'profile',
    valueName: 'ims|rfc',
    description:
      'reply profile: ims = Exchange 5.5 IMS texts, no enhanced status codes; rfc = ENHANCEDSTATUSCODES with RFC 3463 codes',
    defaultText: 'ims',
  },
  {
    key: 'maxRecipients',
    valueName: 'N',
    description: 'recipients accepted per transaction; every RCPT after that gets 452 (IMS: 32766 = 0x7FFE)',
    defaultText: '32766',
  },
  {
    key: 'maxRecipientOvershoot',
    valueName: 'N',
    description:
      'opt-in: RCPT commands refused with 452 in one transaction before the server answers 421 and closes (Postfix style); off (0) = every RCPT after the cap gets 452, however many, as the IMS does (Q272672)',
    defaultText: 'off',
  },
  {
    key: 'maxMessageSize',
    valueName: 'BYTES',
    description: 'largest message accepted (advertised as SIZE; larger ones get 552)',
    defaultText: '25MB',
  },
  {
    key: 'maxHeaderBytes',
    valueName: 'BYTES',
    description:
      'opt-in: largest header block accepted, counted while streaming; larger ones get 552; off = only --max-message-size limits it (a block over 32 KB is stored and gets information event 2113: an IMS before Exchange 5.5 SP2 stopped on it, Q193639)',
    defaultText: 'off',
  },
  {
    key: 'minFreeDisk',
    valueName: 'BYTES',
    description: 'free space the spool file system must keep; below it MAIL gets 452 and /readyz answers 503',
    defaultText: '1.5 x max-message-size',
  },
  {
    key: 'events',
    valueName: 'FILE',
    description: 'event log (JSON lines)',
    defaultText: '<spool>/log/events.jsonl',
  },
  {
    key: 'bareLf',
    valueName: 'normalize|reject',
    description: 'a bare LF inside DATA: normalize = store it as CRLF; reject = refuse the message with 550',
    defaultText: 'normalize',
  },
  {
    key: 'greetingDelayMs',
    valueName: 'MS',
    description:
      'wait before the 220 greeting; a client that talks earlier gets 421 (smtp-server waits 100 ms; 0 serves one-message-per-connection clients fast)',
    defaultText: '0',
  },
  {
    key: 'maxClients',
    valueName: 'N',
    description: 'simultaneous SMTP connections; one more gets 421',
    defaultText: '1000',
  },
  {
    key: 'maxConnectionsPerIp',
    valueName: 'N',
    description: 'simultaneous SMTP connections from one client address; one more gets 421',
    defaultText: '100',
  },
  {
    key: 'transactionTimeout',
    valueName: 'DURATION',
    description:
      'longest time from MAIL FROM to the end of DATA, however steadily the client trickles bytes; past it 421 and the connection closes',
    defaultText: '10m',
  },
  {
    key: 'maxHeldRecipients',
    valueName: 'N',
    description:
      'recipients held in open transactions across all connections (about 300 bytes each); past it a new RCPT gets 452 4.3.1 try later',
    defaultText: '1000000',
  },
  {
    key: 'sessionTranscripts',
    valueName: 'N',
    description:
      'SMTP sessions whose transcripts are kept in memory (runs of RCPT folded) for /api/v1/sessions and the page; 0 = none',
    defaultText: '100',
  },
  {
    key: 'socketTimeoutMs',
    valueName: 'MS',
    description: 'idle time after which a silent client is disconnected with 421',
    defaultText: '300000',
  },
  {
    key: 'shutdownTimeoutMs',
    valueName: 'MS',
    description: 'on SIGTERM/SIGINT, how long transactions in flight may take before connections are closed',
    defaultText: '10000',
  },
  {
    key: 'reverseDns',
    description: 'look up the client address in reverse DNS for Received: headers (off: no lookup)',
    defaultText: 'false',
  },
  {
    key: 'smtps',
    valueName: 'HOST:PORT|off',
    description:
      'a second SMTP listener with implicit TLS (SMTPS, usually port 465); needs --tls-cert and --tls-key',
    defaultText: 'off',
  },
  {
    key: 'tlsCert',
    valueName: 'FILE',
    description: 'PEM certificate (chain) for STARTTLS and --smtps; with --tls-key, STARTTLS is offered',
    defaultText: 'none',
  },
  {
    key: 'tlsKey',
    valueName: 'FILE',
    description: 'PEM private key for --tls-cert',
    defaultText: 'none',
  },
  {
    key: 'users',
    valueName: 'FILE',
    description:
      'SMTP AUTH (PLAIN, LOGIN) users, one USER:HASH line each (make a hash with `ims-relay hash-password`); offered only after TLS unless --allow-insecure-auth',
    defaultText: 'none',
  },
  {
    key: 'allowInsecureAuth',
    description: 'offer AUTH on connections without TLS too',
    defaultText: 'false',
  },
  {
    key: 'acceptAnyAuth',
    description:
      'for tests: offer AUTH (PLAIN, LOGIN) without TLS and accept any user name with any password; the name tags captured mail; it gives no relay permission (only --relay-networks does); not with --users',
    defaultText: 'false',
  },
  {
    key: 'authFailureDelay',
    valueName: 'DURATION',
    description: 'wait before answering a failed AUTH (Postfix smtpd_error_sleep_time)',
    defaultText: '1s',
  },
  {
    key: 'authMaxFailures',
    valueName: 'N',
    description: 'failed AUTH attempts on one connection; the last is answered 421 and the connection closed',
    defaultText: '3',
  },
  {
    key: 'authMaxFailuresPerIp',
    valueName: 'N',
    description:
      'failed AUTH attempts from one client address within --auth-failure-window; past them AUTH gets 421 without a password check',
    defaultText: '10',
  },
  {
    key: 'authFailureWindow',
    valueName: 'DURATION',
    description: 'how long a failed AUTH counts against its client address',
    defaultText: '15m',
  },
  {
    key: 'localDomains',
    valueName: 'LIST',
    description:
      'relay mode: domains anyone may send to (comma-separated); other domains only from --relay-networks or after AUTH',
    defaultText: 'none',
  },
  {
    key: 'relayNetworks',
    valueName: 'CIDRS',
    description:
      'relay mode: client networks that may relay without AUTH (comma-separated); everyone else gets 554 Relay access denied (554 5.7.1 with --profile rfc)',
    defaultText: '127.0.0.0/8,::1/128',
  },
  {
    key: 'routedAddresses',
    valueName: 'local|refuse',
    description:
      'relay mode: a sender-routed recipient (user%host@local, host!user@local, "user@host"@local) from a client outside --relay-networks without AUTH: local = accepted only when every host it routes through is in --local-domains; refuse = never (554)',
    defaultText: 'local',
  },
  {
    key: 'proxyProtocolFrom',
    valueName: 'CIDRS',
    description:
      'load balancers (comma-separated CIDRs) whose connections start with a PROXY protocol header (v1 or v2, HAProxy send-proxy); the address in it is the client address for everything; a connection from them without a valid header gets 421 after 5 s; none: off',
    defaultText: 'none',
  },
  {
    key: 'http',
    valueName: 'HOST:PORT|off',
    description:
      'address of the HTTP admin API (messages, events, mailboxes, failure rules, /metrics, /healthz); off to disable',
    defaultText: '127.0.0.1:8025',
  },
  {
    key: 'adminToken',
    valueName: 'TOKEN',
    description:
      'bearer token every admin API request must carry (Authorization: Bearer TOKEN); required when --http binds to anything but loopback',
    defaultText: 'none',
  },
  {
    key: 'adminHosts',
    valueName: 'NAMES',
    description:
      'host names the admin API answers to besides localhost and IP addresses (comma-separated), e.g. the name a compose network gives the relay; other Host headers get 421 (DNS rebinding)',
    defaultText: 'none',
  },
  {
    key: 'mode',
    valueName: 'capture|relay|hold',
    description:
      'where accepted mail goes: capture = the message store under <spool>/store (one file per message, indexed in SQLite); relay = on to --upstream; hold = nowhere, it stays in in/',
    defaultText: 'capture',
  },
  {
    key: 'upstream',
    valueName: 'URL',
    description:
      'next hop in relay mode: smtp://HOST:PORT (STARTTLS when offered), smtps://HOST:PORT (implicit TLS), smtp://USER:PASSWORD@HOST:PORT (AUTH)',
    defaultText: 'none',
  },
  {
    key: 'upstreamMaxRecipients',
    valueName: 'N',
    description: 'recipients per upstream transaction; more are sent in further transactions',
    defaultText: '1000',
  },
  {
    key: 'upstreamTimeout',
    valueName: 'DURATION',
    description:
      'how long the upstream may stay silent (connecting, greeting, any reply) before the attempt is given up and retried later',
    defaultText: '2m',
  },
  {
    key: 'upstreamTlsVerify',
    description: 'verify the upstream TLS certificate (false: accept self-signed ones)',
    defaultText: 'true',
  },
  {
    key: 'deliveryConcurrency',
    valueName: 'N',
    description: 'messages delivered at the same time (IMS Max Threads 0x20 = 32, Q169686)',
    defaultText: '32',
  },
  {
    key: 'retryInitial',
    valueName: 'DURATION',
    description: 'wait before the first retry of a temporary failure; doubles with each retry',
    defaultText: '5m',
  },
  {
    key: 'retryMax',
    valueName: 'DURATION',
    description: 'longest wait between retries',
    defaultText: '67m',
  },
  {
    key: 'lifetime',
    valueName: 'DURATION',
    description: 'how long a message is retried; then its pending recipients fail with 4.4.7',
    defaultText: '5d',
  },
  {
    key: 'tagPlusAddress',
    description:
      "capture mode: tag a message with the +tag of each recipient's local part (user+run42@x -> run42), besides its X-Ims-Relay-Tag: header",
    defaultText: 'false',
  },
  {
    key: 'archive',
    description: 'keep delivered messages in archive/ instead of removing them',
    defaultText: 'false',
  },
  {
    key: 'directCapture',
    description:
      'capture mode: store a message whose recipients are all simply captured at its final dot, before the 250 (false: every message goes through the queue and the delivery agent, as in relay mode)',
    defaultText: 'true',
  },
  {
    key: 'maildir',
    valueName: 'DIR',
    description:
      'capture mode: also write a Maildir per recipient under DIR (LF line ends, Return-Path and Delivered-To lines), for Dovecot, mutt or an IMAP server; none = off',
    defaultText: 'none',
  },
  {
    key: 'retainMessages',
    valueName: 'N',
    description:
      'captured messages kept in the message store; the oldest beyond N are removed (0 = no limit)',
    defaultText: '10000',
  },
  {
    key: 'retainAge',
    valueName: 'DURATION',
    description:
      'captured messages older than this are removed from the message store (e.g. 7d); off = no limit',
    defaultText: 'off',
  },
  {
    key: 'retainBytes',
    valueName: 'BYTES',
    description:
      'most bytes of message files the message store keeps; the oldest beyond it are removed (e.g. 1GB); off = no limit',
    defaultText: 'off',
  },
  {
    key: 'fail',
    valueName: 'RULE',
    repeatable: true,
    description:
      "failure rule PATTERN=CODE TEXT, e.g. '*@bounce.test=550 5.1.1 User unknown': matching recipients fail at delivery with that reply (4xx: temporary); repeatable; one per line in the environment",
    defaultText: 'none',
  },
  {
    key: 'smtpRule',
    valueName: 'RULE',
    repeatable: true,
    description:
      "SMTP-stage rule STAGE[:MATCHER]=ACTION, e.g. 'rcpt:*@nouser.test=550 5.1.1 User unknown', 'rcpt:first-try=451 4.7.1 Greylisted', 'data=delay 2s': the server answers that at that moment (docs/testing.md); repeatable; one per line in the environment",
    defaultText: 'none',
  },
  {
    key: 'maxProcessingFailures',
    valueName: 'N',
    description:
      'times in a row processing a message alone (no other message in progress, after an unclean stop or an error) may end in a crash or an error before it is moved to bad/ (event 4116)',
    defaultText: '3',
  },
  {
    key: 'ndrMaxRecipients',
    valueName: 'N',
    description: 'recipients listed in one non-delivery report; more are counted in event 3041 (Q272672)',
    defaultText: '32766',
  },
  {
    key: 'ndrOverflow',
    valueName: 'truncate|split',
    description:
      'when more recipients failed than one report lists: truncate = list the first ones; split = send further reports',
    defaultText: 'truncate',
  },
  {
    key: 'ndrMaxOriginalBytes',
    valueName: 'BYTES',
    description: 'a report includes the original message up to this size, otherwise only its headers',
    defaultText: '50KB',
  },
  {
    key: 'pickupInterval',
    valueName: 'DURATION',
    description: 'how often pickup/ is scanned for new files',
    defaultText: '1s',
  },
  {
    key: 'logLevel',
    valueName: 'LEVEL',
    description: 'structured log on stdout: silent, error, warn, info or debug',
    defaultText: 'info',
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
