import { describe, expect, it } from 'vitest';
import type { Envelope } from '../message/envelope.js';
import { humanReadableText, MAX_LISTED, type HumanReadableInput } from './human-readable.js';
import type { RecipientOutcome } from './recipient-outcome.js';

const envelope: Envelope = {
  version: 1,
  queueId: 'Q1',
  arrivedAt: '2024-01-02T03:04:05.000Z',
  sender: 'alice@example.org',
  recipients: Array.from({ length: 250 }, (_, i) => ({ address: `user${i}@example.com` })),
  dsn: {},
  bodyType: '7bit',
  smtpUtf8: false,
  source: 'smtp',
};

function input(listed: RecipientOutcome[], extra: Partial<HumanReadableInput> = {}): HumanReadableInput {
  return {
    kind: 'failure',
    envelope,
    reportingMta: 'relay.example.net',
    subject: 'Hello',
    listed,
    omitted: 0,
    maxRecipients: 32_766,
    part: 1,
    parts: 1,
    ...extra,
  };
}

const failures = (n: number): RecipientOutcome[] =>
  Array.from({ length: n }, (_, index) => ({
    index,
    action: 'failed',
    status: '5.1.1',
    diagnostic: `550 no ${index}`,
  }));

describe('humanReadableText', () => {
  it('lists each recipient with its diagnostic, or its status when there is none', () => {
    const text = humanReadableText(input([...failures(1), { index: 1, action: 'failed', status: '5.4.4' }]));
    expect(text).toContain('      user0@example.com\r\n            550 no 0\r\n');
    expect(text).toContain('      user1@example.com\r\n            Status 5.4.4\r\n');
    expect(text).toContain('Subject: Hello');
    expect(text).toContain('Sent:    Tue, 02 Jan 2024 03:04:05 +0000');
  });

  it(`writes out at most ${MAX_LISTED} addresses, then a count`, () => {
    const text = humanReadableText(input(failures(250)));
    expect(text).toContain('user99@example.com');
    expect(text).not.toContain('user100@example.com');
    expect(text).toContain('... and 150 more');
    expect(humanReadableText(input(failures(100)))).not.toContain('more');
  });

  it('says how many recipients the truncated report leaves out, in the IMS wording', () => {
    const text = humanReadableText(input(failures(3), { omitted: 7, maxRecipients: 3 }));
    expect(text).toContain(
      '7 further recipients could not be delivered and are not listed in this report: ' +
        'the total number of recipients exceeds 3.',
    );
    const success = humanReadableText(input(failures(3), { kind: 'success', omitted: 2, maxRecipients: 3 }));
    expect(success).toContain('2 further recipients were delivered and are not listed in this report');
  });

  it('numbers split reports and keeps every line free of control characters', () => {
    const text = humanReadableText(
      input([{ index: 0, action: 'failed', status: '5.0.0', diagnostic: 'line one\r\nline two' }], {
        part: 2,
        parts: 4,
        subject: 'evil\r\nBcc: x@y',
      }),
    );
    expect(text).toContain('This is report 2 of 4.');
    expect(text).toContain('line one line two');
    expect(text).toContain('Subject: evil Bcc: x@y');
    const controls = [...text].filter((c) => c.charCodeAt(0) < 0x20 && c !== '\r' && c !== '\n');
    expect(controls).toEqual([]);
    expect(/(^|[^\r])\n/.test(text)).toBe(false);
  });
});
