/**
 * Relay mode against an upstream stricter than --upstream-max-recipients: it answers 452 past its
 * limit and then 421 and closes before DATA. ims-relay learns the limit and resends in batches of
 * that size at once; every recipient is delivered exactly once in the first attempt.
 */
import { capturedMailboxes } from './helpers/captured.js';
import { afterEach, describe, expect, it } from 'vitest';
import { PostfixInstance, havePostfix } from './helpers/postfix-instance.js';
import { SmtpSession } from './helpers/smtp-session.js';
import { startTestRelay, type TestRelay } from './helpers/test-relay.js';
import { waitFor } from './helpers/wait-for.js';

if (process.env.CI && !havePostfix)
  throw new Error('Postfix is not installed (or not root); .ci/run must install it');

const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
});

async function submit(relay: TestRelay, recipients: string[]): Promise<string> {
  const s = await SmtpSession.ready(relay.port);
  s.write(
    ['MAIL FROM:<sender@example.test>', ...recipients.map((r) => `RCPT TO:<${r}>`), 'DATA'].join('\r\n') +
      '\r\n',
  );
  await s.reply();
  for (const r of recipients) expect(await s.reply(), r).toMatch(/^250 /);
  expect(await s.reply()).toMatch(/^354/);
  const done = await s.cmd('Subject: many\r\n\r\nhello\r\n.');
  expect(done).toMatch(/^250 OK: queued as /);
  s.close();
  return done.split(' ').pop()!;
}

/** Every mailbox of the capture relay with its message count. */
function counts(sink: TestRelay): Map<string, number> {
  const result = new Map<string, number>();
  for (const { mailbox, messages } of capturedMailboxes(sink.spool.dir)) result.set(mailbox, messages);
  return result;
}

/** The journal of a finished entry is gone with it; the events say how it ended. */
function deliveredEvent(relay: TestRelay, queueId: string) {
  return relay.eventsSeen().find((e) => e.queueId === queueId && (e.id === 1101 || e.id === 4117));
}

describe('an upstream that says 452 and then closes', () => {
  it('ims-relay with a cap of 3 and an opt-in overshoot of 2 as the upstream: 10 recipients, all delivered once', async () => {
    const sink = await startTestRelay({ mode: 'capture', maxRecipients: '3', maxRecipientOvershoot: '2' });
    stops.push(() => sink.stop());
    const relay = await startTestRelay({
      mode: 'relay',
      upstream: `smtp://127.0.0.1:${sink.port}`,
      upstreamMaxRecipients: '10',
      retryInitial: '1h', // a second attempt would come too late for this test
    });
    stops.push(() => relay.stop());
    const recipients = Array.from({ length: 10 }, (_, i) => `u${i}@example.test`);
    const queueId = await submit(relay, recipients);
    const event = await waitFor('the delivery', () => deliveredEvent(relay, queueId), 30_000);
    expect(event.id).toBe(1101);
    expect(event.data).toMatchObject({ delivered: 10 });
    // the sink captures what it accepted behind its 250s
    await waitFor('the sink captured every recipient', () => counts(sink).size >= recipients.length, 30_000);
    expect([...counts(sink).entries()].sort()).toEqual(recipients.map((r) => [r.toLowerCase(), 1]).sort());
    // the sink closed twice with 421 (the first try, and the probe that sends no DATA), then took
    // batches of 3 that never reached its cap; the relay never saw an outage
    expect(sink.eventsSeen().filter((e) => e.id === 2101)).toHaveLength(2);
    expect(relay.eventsSeen().filter((e) => e.id === 3039)).toHaveLength(0);
    expect(
      sink
        .eventsSeen()
        .filter((e) => e.id === 1100)
        .map((e) => e.data?.recipients),
    ).toEqual([3, 3, 3, 1]);
  });
});

describe.skipIf(!havePostfix)('a real Postfix with smtpd_recipient_limit = 1000', () => {
  it('takes 5,000 recipients sent with --upstream-max-recipients 5000: all delivered exactly once in one attempt', async () => {
    // the last hop holds what arrives (hold mode): its envelopes say who got the message
    const sink = await startTestRelay({ mode: 'hold', hostname: 'sink.test' });
    stops.push(() => sink.stop());
    const postfix = await PostfixInstance.start({
      relayhost: `[127.0.0.1]:${sink.port}`,
      // smtpd_recipient_limit is the point; Postfix's own deliveries to the sink in large batches save time
      mainCf: [
        'smtpd_recipient_limit = 1000',
        'smtp_destination_recipient_limit = 5000',
        'smtpd_error_sleep_time = 0s', // still 421 after smtpd_hard_error_limit (20) errors, without the 1 s pauses
      ],
    });
    stops.push(() => postfix.stop());
    const relay = await startTestRelay({
      mode: 'relay',
      upstream: `smtp://127.0.0.1:${postfix.port}`,
      upstreamMaxRecipients: '5000',
      retryInitial: '1h',
    });
    stops.push(() => relay.stop());
    const recipients = Array.from({ length: 5_000 }, (_, i) => `user${i}@example.test`);
    const queueId = await submit(relay, recipients);
    const event = await waitFor('the relay’s delivery', () => deliveredEvent(relay, queueId), 120_000).catch(
      async (err: Error) => {
        // say what happened instead (a deferral waits an hour here): the journal, the events, Postfix's log
        const journal = await relay.spool.readJournal('in', queueId).catch((e: Error) => e.message);
        const events = relay.eventsSeen().filter((e) => e.queueId === queueId || e.id >= 2000);
        throw new Error(
          `${err.message}\njournal: ${JSON.stringify(journal).slice(0, 2000)}\nevents: ${JSON.stringify(events).slice(0, 4000)}\npostfix log (end): ${postfix.log().slice(-4000)}`,
        );
      },
    );
    expect(event.id).toBe(1101);
    expect(event.data).toMatchObject({ delivered: 5_000 });
    // Postfix passes them on to the sink: every one arrives, once
    const arrived = () => sink.entries().flatMap((e) => e.envelope.recipients.map((r) => r.address));
    await waitFor('all 5,000 at the last hop', () => arrived().length >= 5_000, 120_000);
    expect(arrived().sort()).toEqual([...recipients].sort());
    expect(postfix.log()).toMatch(/too many recipients|too many errors/i);
  }, 240_000);
});
