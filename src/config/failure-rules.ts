/**
 * Failure rules: `PATTERN=CODE TEXT`, e.g. `*@bounce.test=550 5.1.1 User unknown`. A recipient
 * whose address matches PATTERN (a glob: `*` any run of characters, `?` one character; compared
 * case-insensitively) fails at delivery with exactly that reply; a 4xx code is a temporary failure
 * (retried), a 5xx code a permanent one. For people testing how their software handles failures.
 */
import { addressPattern } from './address-pattern.js';

export interface FailureRule {
  /** The rule as written. */
  source: string;
  pattern: string;
  code: number;
  /** RFC 3463 status: the one in TEXT if it starts with one, else derived from the code. */
  status: string;
  /** The reply text after the code, e.g. `5.1.1 User unknown`. */
  text: string;
  matches: (address: string) => boolean;
}

/** Parses one rule; returns a message saying what is wrong instead of throwing. */
export function parseFailureRule(source: string): FailureRule | string {
  const match = /^(.+?)=\s*([45]\d\d)(?:\s+(.*))?$/.exec(source.trim());
  if (!match)
    return `expected PATTERN=CODE TEXT with a 4xx or 5xx code (e.g. '*@bounce.test=550 5.1.1 User unknown'), got '${source}'`;
  const pattern = match[1]!.trim();
  const code = Number(match[2]);
  const text =
    (match[3] ?? '').trim() ||
    (code >= 500
      ? 'Permanent failure (ims-relay failure rule)'
      : 'Temporary failure (ims-relay failure rule)');
  const enhanced = /^([245])\.(\d{1,3})\.(\d{1,3})(?:\s|$)/.exec(text);
  if (enhanced && enhanced[1] !== String(code)[0])
    return `the status ${enhanced[0].trim()} does not match the code ${code} in '${source}'`;
  const regexp = addressPattern(pattern);
  return {
    source,
    pattern,
    code,
    status: enhanced ? enhanced[0].trim() : code >= 500 ? '5.0.0' : '4.0.0',
    text,
    matches: (address) => regexp.test(address),
  };
}

/** The first rule that matches `address`, if any. */
export function matchFailureRule(rules: readonly FailureRule[], address: string): FailureRule | undefined {
  return rules.find((r) => r.matches(address));
}
