/**
 * Reply texts and enhanced status codes, per profile. `ims` answers as the Exchange 5.5 Internet
 * Mail Service did after the Q272672 fix and has no enhanced status codes; `rfc` advertises
 * ENHANCEDSTATUSCODES and puts the RFC 3463 code in every reply. Every reply the relay sends passes
 * through `renderReply`, also the ones smtp-server composes itself, so a code such as the cap's
 * 4.5.3 does not depend on the library's own mapping (which gives an `onRcptTo` 452 4.2.2).
 */
export type Profile = 'ims' | 'rfc';

/** A reply the relay decides itself: code, enhanced code and text. */
export interface Reply {
  code: number;
  enhanced: string;
  text: string;
}

export const REPLIES = {
  recipientAccepted: (address: string): Reply => ({
    code: 250,
    enhanced: '2.1.5',
    text: `OK - Recipient <${address}>`,
  }),
  recipientCap: { code: 452, enhanced: '4.5.3', text: 'Requested action not taken: Exceed Recipient Limit' },
  recipientOvershoot: (host: string, refused: number): Reply => ({
    code: 421,
    enhanced: '4.5.3',
    text: `${host} Too many recipients past the limit (${refused} refused), closing connection`,
  }),
  insufficientStorage: { code: 452, enhanced: '4.3.1', text: 'Insufficient system storage' },
  localError: {
    code: 451,
    enhanced: '4.3.0',
    text: 'Requested action aborted: local error in processing, nothing was stored',
  },
  headerTooLarge: (limit: number): Reply => ({
    code: 552,
    enhanced: '5.3.4',
    text: `Message header block exceeds the limit of ${limit} bytes, nothing was stored`,
  }),
  messageTooLarge: (limit: number): Reply => ({
    code: 552,
    enhanced: '5.3.4',
    text: `Message size exceeds the fixed maximum message size of ${limit} bytes, nothing was stored`,
  }),
  bareLf: {
    code: 550,
    enhanced: '5.5.2',
    text: 'Bare LF line ending in message data is not allowed, use CRLF',
  },
  lineTooLong: { code: 500, enhanced: '5.5.2', text: 'Line too long (the limit is 2048 octets)' },
  needsSmtpUtf8: { code: 553, enhanced: '5.6.7', text: 'Non-ASCII address without SMTPUTF8' },
  unsupportedParameter: (name: string): Reply => ({
    code: 555,
    enhanced: '5.5.4',
    text: `Unsupported parameter ${name.replace(/[^A-Za-z0-9-]/g, '?').slice(0, 40)}`,
  }),
  parameterSyntax: { code: 501, enhanced: '5.5.4', text: 'Syntax error in parameters' },
  controlCharacters: {
    code: 501,
    enhanced: '5.5.2',
    text: 'Syntax error: control characters in the command line',
  },
  startTlsFirst: { code: 530, enhanced: '5.7.0', text: 'Must issue a STARTTLS command first' },
  relayDenied: { code: 554, enhanced: '5.7.1', text: 'Relay access denied' },
  authFailed: { code: 535, enhanced: '5.7.8', text: 'Authentication credentials invalid' },
  authFailureLimit: (host: string): Reply => ({
    code: 421,
    enhanced: '4.7.0',
    text: `${host} Too many authentication failures, closing connection`,
  }),
  authAddressLimit: (host: string): Reply => ({
    code: 421,
    enhanced: '4.7.0',
    text: `${host} Too many authentication failures from your address, try again later`,
  }),
  connectionsPerIp: (host: string): Reply => ({
    code: 421,
    enhanced: '4.7.0',
    text: `${host} Too many connections from your address, try again later`,
  }),
  transactionTimeout: (host: string): Reply => ({
    code: 421,
    enhanced: '4.4.2',
    text: `${host} Transaction time limit exceeded, closing connection`,
  }),
  recipientsHeld: {
    code: 452,
    enhanced: '4.3.1',
    text: 'Insufficient system resources: too many recipients in open transactions, try again later',
  },
  queued: (queueId: string): Reply => ({ code: 250, enhanced: '2.6.0', text: `OK: queued as ${queueId}` }),
  help: {
    code: 214,
    enhanced: '2.0.0',
    text: 'Commands: HELO EHLO MAIL RCPT DATA RSET NOOP VRFY HELP QUIT',
  },
  vrfy: {
    code: 252,
    enhanced: '2.1.5',
    text: 'Cannot VRFY user, but will accept message and attempt delivery',
  },
} as const;

/** The text of a reply as it goes on the wire after the code: `4.5.3 Requested …` or `Requested …`. */
export function replyText(profile: Profile, reply: Reply): string {
  return profile === 'rfc' ? `${reply.enhanced} ${reply.text}` : reply.text;
}

/** An Error that an smtp-server handler callback turns into exactly this reply. */
export function replyError(profile: Profile, reply: Reply): Error & { responseCode: number } {
  return Object.assign(new Error(replyText(profile, reply)), { responseCode: reply.code });
}

const ENHANCED_BY_CONTEXT: Record<string, string> = {
  MAIL_FROM_OK: '2.1.0',
  RCPT_TO_OK: '2.1.5',
  DATA_OK: '2.6.0',
  TOO_MANY_RECIPIENTS: '4.5.3',
  MESSAGE_TOO_BIG: '5.3.4',
  SENDER_SYNTAX_ERROR: '5.1.7',
  MAILBOX_SYNTAX_ERROR: '5.1.3',
};

/** RFC 3463 codes for replies smtp-server composes without a more specific context. */
const ENHANCED_BY_CODE: Record<number, string> = {
  214: '2.0.0',
  221: '2.0.0',
  250: '2.0.0',
  252: '2.1.5',
  421: '4.3.2',
  450: '4.2.1',
  451: '4.3.0',
  452: '4.3.1',
  454: '4.7.0',
  500: '5.5.2',
  501: '5.5.4',
  502: '5.5.1',
  503: '5.5.1',
  504: '5.5.4',
  530: '5.7.0',
  550: '5.1.1',
  552: '5.3.4',
  553: '5.1.3',
  554: '5.6.0',
  555: '5.5.4',
};

const HAS_ENHANCED = /^[245]\.\d{1,3}\.\d{1,3}(?: |$)/;
const NO_ENHANCED_CONTEXTS = new Set(['HELO', 'EHLO', 'LHLO']);

/**
 * The enhanced status code for a reply smtp-server composed, or '' for none (greeting, EHLO/HELO,
 * 3xx, `context === false`). Mirrors RFC 2034: every reply after EHLO except those.
 */
export function enhancedCodeFor(code: number, context: string | false | undefined): string {
  if (context === false || (code >= 300 && code < 400)) return '';
  if (context !== undefined && NO_ENHANCED_CONTEXTS.has(context)) return '';
  return (
    (context !== undefined && ENHANCED_BY_CONTEXT[context]) ||
    ENHANCED_BY_CODE[code] ||
    `${Math.floor(code / 100)}.0.0`
  );
}

/** Prefixes the enhanced code to a text (each line of a multi-line one) unless it has one. */
export function withEnhancedCode(enhanced: string, data: string | string[]): string | string[] {
  if (!enhanced) return data;
  const prefix = (line: string) => (HAS_ENHANCED.test(line) ? line : `${enhanced} ${line}`);
  return Array.isArray(data) ? data.map(prefix) : prefix(data);
}
