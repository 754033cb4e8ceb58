/**
 * 100,000 RCPT in one pipelined write on the defaults: 32,766 × 250, then 67,234 × 452 and no
 * disconnect (Q272672), and DATA delivers to the 32,766.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { SmtpSession } from '../helpers/smtp-session.js';
import type { TestRelay } from '../helpers/test-relay.js';
import { CAP, CAP_REPLY, addresses, defaultRelay, heldRecipients } from './peer-relay.js';

let relay: TestRelay | undefined;
afterEach(async () => {
  await relay?.stop();
  relay = undefined;
});

describe('raw pipelined RCPT at 100,000', () => {
  it('answers 32,766 × 250 and 67,234 × 452, keeps the connection and stores the message', async () => {
    relay = await defaultRelay();
    const recipients = addresses(100_000);
    const s = await SmtpSession.ready(relay.port);
    s.write(
      ['MAIL FROM:<bulk@example.test>', ...recipients.map((r) => `RCPT TO:<${r}>`), 'DATA'].join('\r\n') +
        '\r\n',
    );
    expect(await s.reply()).toBe('250 Accepted');
    let accepted = 0;
    let refused = 0;
    const other: string[] = [];
    for (let i = 0; i < recipients.length; i++) {
      const reply = await s.reply();
      if (i < CAP && reply === `250 OK - Recipient <${recipients[i]}>`) accepted++;
      else if (i >= CAP && reply === CAP_REPLY) refused++;
      else other.push(`${i}: ${reply}`);
    }
    expect(other.slice(0, 5)).toEqual([]);
    expect([accepted, refused]).toEqual([CAP, 100_000 - CAP]);
    expect(await s.reply()).toMatch(/^354/);
    expect(await s.cmd('Subject: many\r\n\r\nhi\r\n.')).toMatch(/^250 OK: queued as /);
    expect(await s.cmd('NOOP')).toMatch(/^250/);
    s.close();
    expect(heldRecipients(relay)).toEqual([recipients.slice(0, CAP)]);
    const capped = relay.eventsSeen().find((e) => e.id === 2100);
    expect(capped?.data).toMatchObject({ refused: 100_000 - CAP, accepted: CAP });
    expect(relay.eventsSeen().some((e) => e.id === 2101)).toBe(false);
  }, 120_000);
});
