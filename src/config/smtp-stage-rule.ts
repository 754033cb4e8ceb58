/**
 * An SMTP-stage rule as `--smtp-rule` takes it, and its parser (the rules in force, and carrying
 * them out: server/smtp-stage-rules.ts). SMTP-stage rules: the relay answers a chosen reply at a
 * chosen moment of the SMTP dialogue, for people testing how their sending code copes (a 550 at
 * RCPT, greylisting, a 421 at DATA, a 452 at the Nth RCPT, a slow server, a dropped connection).
 * Deterministic: no randomness.
 *
 *   STAGE[:MATCHER]=ACTION
 *
 * STAGE    connect | mail | rcpt | data | eod (end of data: the reply to the final dot)
 * MATCHER  (optional; several joined by `,` must all hold)
 *          a glob (`*` any run, `?` one character, case-insensitive) against the stage's subject:
 *          the client's IP address at connect, the sender at mail, data and eod, the recipient at
 *          rcpt;
 *          `#N` the Nth time the rule's stage is reached (rcpt: the Nth RCPT of the transaction;
 *          other stages: counted per rule since it was set), `#N+` the Nth time and every later one;
 *          `first-try` the first time a (client IP, sender, recipient) triple is seen (at rcpt; at
 *          mail and eod the pair client IP and sender): greylisting.
 * ACTION   `CODE TEXT` (e.g. `550 5.1.1 User unknown`) — that exact reply instead of the usual one;
 *          (4xx or 5xx); `delay DURATION` (e.g. `delay 2s`) — wait before the usual reply, or before CODE TEXT
 *          / disconnect when followed by one; `disconnect` — close the connection without a reply.
 *
 * The first rule that matches a stage applies; the others are not looked at for that moment.
 */
import { addressPattern } from './address-pattern.js';
import { parseDuration } from './duration.js';

export const SMTP_STAGES = ['connect', 'mail', 'rcpt', 'data', 'eod'] as const;
export type SmtpStage = (typeof SMTP_STAGES)[number];

export interface SmtpStageRule {
  /** The rule as written. */
  source: string;
  stage: SmtpStage;
  patterns: RegExp[];
  occurrence?: { n: number; andLater: boolean };
  firstTry: boolean;
  delayMs: number;
  reply?: { code: number; text: string };
  disconnect: boolean;
}

const EXAMPLE = "e.g. 'rcpt:*@nouser.test=550 5.1.1 User unknown'";

/** Parses one rule; returns a message saying what is wrong instead of throwing. */
export function parseSmtpStageRule(source: string): SmtpStageRule | string {
  const text = source.trim();
  const eq = text.indexOf('=');
  if (eq < 0) return `expected STAGE[:MATCHER]=ACTION (${EXAMPLE}), got '${source}'`;
  const left = text.slice(0, eq).trim();
  const right = text.slice(eq + 1).trim();
  const colon = left.indexOf(':');
  const stageName = (colon < 0 ? left : left.slice(0, colon)).trim().toLowerCase();
  if (!(SMTP_STAGES as readonly string[]).includes(stageName))
    return `unknown stage '${stageName}' in '${source}': expected one of ${SMTP_STAGES.join(', ')}`;
  const rule: SmtpStageRule = {
    source: text,
    stage: stageName as SmtpStage,
    patterns: [],
    firstTry: false,
    delayMs: 0,
    disconnect: false,
  };
  const matchers =
    colon < 0
      ? []
      : left
          .slice(colon + 1)
          .split(',')
          .map((m) => m.trim())
          .filter(Boolean);
  for (const matcher of matchers) {
    const nth = /^#(\d+)(\+?)$/.exec(matcher);
    if (nth) {
      const n = Number(nth[1]);
      if (n < 1) return `#N counts from 1 in '${source}'`;
      rule.occurrence = { n, andLater: nth[2] === '+' };
    } else if (matcher.toLowerCase() === 'first-try') {
      if (rule.stage === 'connect' || rule.stage === 'data')
        return `first-try applies at mail, rcpt and eod, not at ${rule.stage}, in '${source}'`;
      rule.firstTry = true;
    } else if (matcher.startsWith('#')) {
      return `expected #N or #N+ in '${source}', got '${matcher}'`;
    } else {
      rule.patterns.push(addressPattern(matcher));
    }
  }

  let action = right;
  const delay = /^delay\s+(\S+)\s*(.*)$/i.exec(action);
  if (delay) {
    const ms = parseDuration(delay[1]!);
    if (ms === undefined) return `expected a duration after delay (e.g. delay 2s) in '${source}'`;
    rule.delayMs = ms;
    action = delay[2]!.trim();
  }
  if (/^disconnect$/i.test(action)) rule.disconnect = true;
  else if (action !== '') {
    const reply = /^([45]\d\d)(?:\s+(.*))?$/.exec(action);
    if (!reply)
      return `expected CODE TEXT (a 4xx or 5xx code), delay DURATION or disconnect after '=' in '${source}'`;
    const code = Number(reply[1]);
    const enhanced = /^([245])\.\d{1,3}\.\d{1,3}(?:\s|$)/.exec(reply[2] ?? '');
    if (enhanced && enhanced[1] !== String(code)[0])
      return `the status ${enhanced[0].trim()} does not match the code ${code} in '${source}'`;
    rule.reply = { code, text: (reply[2] ?? '').trim() || `ims-relay SMTP rule at ${rule.stage}` };
  } else if (rule.delayMs === 0) {
    return `expected an action after '=' in '${source}'`;
  }
  return rule;
}

/** Parses a list of rules; the first bad one makes the whole list a message. */
export function parseSmtpStageRules(sources: readonly string[]): SmtpStageRule[] | string {
  const rules: SmtpStageRule[] = [];
  for (const source of sources) {
    const rule = parseSmtpStageRule(source);
    if (typeof rule === 'string') return rule;
    rules.push(rule);
  }
  return rules;
}
