/**
 * Capture mode's direct path (src/delivery/direct-capture.ts): a message whose recipients are all
 * simply captured is in the message store when the client hears 250, with no spool entry; one that
 * owes anything else (a failure rule, NOTIFY=SUCCESS, a message over the memory bound, a store
 * that cannot take it) goes through the queue and loses nothing.
 */
import fs from 'node:fs';
import path from 'node:path';
import nodemailer, { type SendMailOptions } from 'nodemailer';
import { afterEach, describe, expect, it } from 'vitest';
import { parseFailureRule } from '../src/config/failure-rules.js';
import { SmtpSession } from './helpers/smtp-session.js';
import { startTestRelay, type TestRelay } from './helpers/test-relay.js';
import { waitFor } from './helpers/wait-for.js';

let relay: TestRelay | undefined;
afterEach(async () => {
  await relay?.stop();
  relay = undefined;
});

/** Sends one message with nodemailer; resolves with the queue ID of its 250 (it throws on any other reply). */
async function send(r: TestRelay, mail: SendMailOptions): Promise<string> {
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port: r.port, ignoreTLS: true });
  try {
    const info = await transport.sendMail(mail);
    expect(info.response).toMatch(/^250 /);
    return String(info.response).split(' ').pop()!;
  } finally {
    transport.close();
  }
}

/** Names of every spool entry written into in/ while the relay ran (watched as they appear). */
function watchIn(r: TestRelay): { seen: Set<string>; close: () => void } {
  const seen = new Set<string>();
  const watcher = fs.watch(r.spool.folder('in'), (_kind, name) => {
    if (name) seen.add(name.toString());
  });
  return { seen, close: () => watcher.close() };
}

describe('direct capture (capture mode, defaults)', () => {
  it('has the message in the store and the API when the 250 comes, without a spool entry', async () => {
    relay = await startTestRelay({ mode: 'capture' });
    const watch = watchIn(relay);
    const queueId = await send(relay, {
      from: 'app@example.test',
      to: ['a@example.test', 'B@example.test', 'c@example.test'],
      subject: 'at once',
      text: 'in the store before the reply',
    });
    // no waiting: the 250 came after the capture was durable and indexed
    const page = relay.store.list({ queueId }, 10);
    expect(page.rows.map((r) => r.id)).toEqual([`${queueId}.1`]);
    expect(page.rows[0]!.subject).toBe('at once');
    expect(relay.store.list({ to: 'b@example.test' }, 10).total).toBe(1);
    const file = relay.store.fileOf(`${queueId}.1`);
    expect(fs.readFileSync(file, 'latin1')).toMatch(/^Return-Path: <app@example.test>\r\nReceived: from /);
    // over HTTP too, at once
    const res = await fetch(`http://127.0.0.1:${relay.http!.port}/api/v1/mail?queueId=${queueId}`);
    const body = (await res.json()) as { total: number; messages: { recipientCount: number }[] };
    expect(body.total).toBe(1);
    expect(body.messages[0]!.recipientCount).toBe(3);
    // the spool never held it, and its events say how it went
    await new Promise((r) => setTimeout(r, 100));
    watch.close();
    expect([...watch.seen]).toEqual([]);
    expect(fs.readdirSync(relay.spool.folder('in'))).toEqual([]);
    const events = relay.eventsSeen().filter((e) => e.queueId === queueId);
    expect(events.map((e) => e.id)).toEqual([1130, 1100, 1101]);
    expect(events[1]!.data).toMatchObject({ recipients: 3, captured: true });
    expect(events[2]!.data).toMatchObject({ delivered: 3, reports: [], direct: true });
  });

  it('sends a message through the queue when a failure rule matches one recipient (and the NDR comes)', async () => {
    relay = await startTestRelay({ mode: 'capture', fail: ['*@fail.test=550 5.1.1 User unknown'] });
    const watch = watchIn(relay);
    const queueId = await send(relay, {
      from: 'app@example.test',
      to: ['ok@example.test', 'nobody@fail.test'],
      subject: 'half fails',
      text: 'x',
    });
    await waitFor('the NDR', () => relay!.store.list({ queueId, report: true }, 10).total === 1 || undefined);
    watch.close();
    expect(watch.seen.has(`${queueId}.imsr`)).toBe(true);
    const queued = relay.eventsSeen().find((e) => e.id === 1100 && e.queueId === queueId)!;
    expect(queued.data).not.toHaveProperty('captured');
    expect(relay.store.list({ to: 'ok@example.test' }, 10).total).toBe(1);
  });

  it('takes rules set while the relay runs: a rule added later sends the next message through the queue', async () => {
    relay = await startTestRelay({ mode: 'capture' });
    const first = await send(relay, {
      from: 'a@example.test',
      to: 'x@later.test',
      subject: '1',
      text: '1',
    });
    const rule = parseFailureRule('*@later.test=451 4.3.0 Not now');
    if (typeof rule === 'string') throw new Error(rule);
    relay.setFailureRules([rule]);
    const second = await send(relay, {
      from: 'a@example.test',
      to: 'x@later.test',
      subject: '2',
      text: '2',
    });
    expect(relay.store.list({ queueId: first }, 10).total).toBe(1);
    expect(relay.store.list({ queueId: second }, 10).total).toBe(0);
    expect(fs.existsSync(path.join(relay.spool.folder('in'), `${second}.imsr`))).toBe(true);
  });

  it('streams a message over the memory bound (4 MB) into the queue and captures it from there', async () => {
    relay = await startTestRelay({ mode: 'capture' });
    const watch = watchIn(relay);
    const line = 'x'.repeat(76) + '\r\n';
    const queueId = await send(relay, {
      from: 'big@example.test',
      to: 'r@example.test',
      subject: 'five megabytes',
      text: line.repeat(Math.ceil((5 * 1024 * 1024) / line.length)),
    });
    await waitFor('the capture', () => relay!.store.list({ queueId }, 10).total === 1 || undefined);
    watch.close();
    expect(watch.seen.has(`${queueId}.imsr`)).toBe(true);
    expect(relay.store.get(`${queueId}.1`)!.size).toBeGreaterThan(5 * 1024 * 1024);
  });

  it('sends the message to the queue when the store cannot take it, and delivers it once the store is back', async () => {
    relay = await startTestRelay({ mode: 'capture', retryInitial: '200ms', retryMax: '200ms' });
    const tmp = path.join(relay.config.spool, 'store', 'tmp');
    fs.rmSync(tmp, { recursive: true });
    fs.writeFileSync(tmp, 'not a folder'); // every capture fails (ENOTDIR) until it is a folder again
    const queueId = await send(relay, {
      from: 'a@example.test',
      to: 'r@example.test',
      subject: 'kept',
      text: 'k',
    });
    expect(relay.store.list({ queueId }, 10).total).toBe(0);
    // queued, and deferred by the delivery agent while the store fails
    expect(fs.existsSync(path.join(relay.spool.folder('in'), `${queueId}.imsr`))).toBe(true);
    fs.rmSync(tmp);
    fs.mkdirSync(tmp);
    await waitFor(
      'the capture after the store is back',
      () => relay!.store.list({ queueId }, 10).total === 1 || undefined,
    );
    expect(relay.store.list({ queueId }, 10).rows[0]!.subject).toBe('kept');
  });

  it('with --direct-capture false, sends every message through the queue', async () => {
    relay = await startTestRelay({ mode: 'capture', directCapture: false });
    const watch = watchIn(relay);
    const queueId = await send(relay, {
      from: 'a@example.test',
      to: 'r@example.test',
      subject: 'q',
      text: 'q',
    });
    await waitFor('the capture', () => relay!.store.list({ queueId }, 10).total === 1 || undefined);
    watch.close();
    expect(watch.seen.has(`${queueId}.imsr`)).toBe(true);
    const delivered = await waitFor('event 1101', () =>
      relay!.eventsSeen().find((e) => e.id === 1101 && e.queueId === queueId),
    );
    expect(delivered.data).not.toHaveProperty('direct');
  });

  it('nodemailer to 40,000 on the defaults: 32,766 captured at the 250, 7,234 refused with 452 and captured when resent', async () => {
    relay = await startTestRelay({ mode: 'capture' });
    const watch = watchIn(relay);
    const all = Array.from({ length: 40_000 }, (_, i) => `user${i}@example.test`);
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: relay.port, ignoreTLS: true });
    try {
      const first = await transport.sendMail({
        from: 'app@example.test',
        to: 'undisclosed-recipients:;',
        bcc: all,
        subject: '40k',
        text: 'x zebracrossing',
      });
      expect(first.accepted).toHaveLength(32_766);
      expect(first.rejected).toHaveLength(7_234);
      expect(String(first.rejectedErrors?.[0]?.response)).toBe(
        '452 Requested action not taken: Exceed Recipient Limit',
      );
      const firstId = String(first.response).split(' ').pop()!;
      // no waiting: captured when the 250 came
      expect(relay.store.list({ queueId: firstId }, 1).rows[0]?.recipientCount).toBe(32_766);
      const second = await transport.sendMail({
        from: 'app@example.test',
        to: 'undisclosed-recipients:;',
        bcc: first.rejected as string[],
        subject: '40k',
        text: 'x zebracrossing',
      });
      expect(second.accepted).toHaveLength(7_234);
      const secondId = String(second.response).split(' ').pop()!;
      expect(relay.store.list({ queueId: secondId }, 1).rows[0]?.recipientCount).toBe(7_234);
    } finally {
      transport.close();
    }
    // every recipient once
    const rows = relay.store.list({}, 10).rows;
    expect(rows.map((r) => r.recipientCount).sort((a, b) => a - b)).toEqual([7_234, 32_766]);
    expect(relay.store.list({ to: 'user32766@example.test' }, 10).total).toBe(1);
    expect(relay.store.list({ to: 'user0@example.test' }, 10).total).toBe(1);
    // full text over HTTP at once, though the store writes full-text rows only after captures pause:
    // the body of both, a recipient of each (the addresses are indexed too)
    const search = async (q: string) =>
      (
        (await (await fetch(`http://127.0.0.1:${relay!.http!.port}/api/v1/mail?q=${q}`)).json()) as {
          messages: { recipientCount: number }[];
        }
      ).messages.map((m) => m.recipientCount);
    expect((await search('zebracrossing')).sort((a, b) => a - b)).toEqual([7_234, 32_766]);
    expect(await search('user39999')).toEqual([7_234]);
    expect(await search('user12345')).toEqual([32_766]);
    watch.close();
    expect([...watch.seen]).toEqual([]);
  }, 120_000);

  it('on the defaults, messages held at once share 64 MB: 17 of 4.1 MB held open together, the ones past it go to the spool, all 17 captured', async () => {
    relay = await startTestRelay({ mode: 'capture' });
    const body = `Subject: held\r\n\r\n${('y'.repeat(998) + '\r\n').repeat(4_100)}`; // 4.1 MB, under the 4 MiB held per message
    const sessions = await Promise.all(Array.from({ length: 17 }, () => SmtpSession.ready(relay!.port)));
    try {
      for (const [i, s] of sessions.entries()) {
        expect(await s.cmd('MAIL FROM:<big@example.test>')).toMatch(/^250/);
        expect(await s.cmd(`RCPT TO:<held${i}@example.test>`)).toMatch(/^250/);
        expect(await s.cmd('DATA')).toMatch(/^354/);
        s.write(body); // no final dot yet: every message is being received at the same time
      }
      // 17 x 4.1 MB is past the shared 64 MiB: the later ones stream into spool entries (tmp/)
      await waitFor(
        'a message streaming to the spool',
        () => fs.readdirSync(relay!.spool.folder('tmp')).length > 0,
      );
      const replies = await Promise.all(sessions.map((s) => s.cmd('.')));
      expect(replies.every((r) => r.startsWith('250 '))).toBe(true);
      const ids = replies.map((r) => r.split(' ').pop()!);
      await waitFor(
        'all 17 captured',
        () => ids.every((id) => relay!.store.list({ queueId: id }, 1).total === 1) || undefined,
      );
      const queued = relay.eventsSeen().filter((e) => e.id === 1100 && ids.includes(e.queueId!));
      const direct = queued.filter((e) => e.data?.captured === true).length;
      expect(direct).toBeGreaterThan(0);
      expect(direct).toBeLessThanOrEqual(16); // 16 x 4.1 MB fit in 64 MiB, 17 do not
      expect(queued.length - direct).toBeGreaterThan(0);
    } finally {
      for (const s of sessions) s.close();
    }
  }, 120_000);
});
