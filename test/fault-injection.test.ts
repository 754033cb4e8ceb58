/**
 * Faults that stopped the IMS (Q317653, Q169686), injected for real: a spool on a small tmpfs
 * that fills up, and an upstream that resets the connection in the middle of DATA.
 */
import fs from 'node:fs';
import path from 'node:path';
import nodemailer from 'nodemailer';
import { afterEach, describe, expect, it } from 'vitest';
import { ScriptedUpstream } from './helpers/scripted-upstream.js';
import { SmtpSession } from './helpers/smtp-session.js';
import { startTestRelay, type TestRelay } from './helpers/test-relay.js';
import { waitFor } from './helpers/wait-for.js';
import { canMount, smallDisk } from './helpers/small-disk.js';

let relay: TestRelay | undefined;
let upstream: ScriptedUpstream | undefined;
afterEach(async () => {
  await relay?.stop();
  await upstream?.stop();
  relay = undefined;
  upstream = undefined;
});

describe.skipIf(!canMount)('disk full (a real 4 MB tmpfs)', () => {
  it('answers 452 at MAIL under the threshold, 451 when a write fails (streamed or written whole), recovers, and loses nothing', async () => {
    const disk = smallDisk('4m')!;
    try {
      relay = await startTestRelay({
        spool: path.join(disk.dir, 'spool'),
        minFreeDisk: '64k',
        maxMessageSize: '3m',
        profile: 'rfc',
      });
      const s = await SmtpSession.connect(relay.port);
      await s.reply();
      await s.cmd('EHLO client.test');
      const send = async (body: string) => {
        const mail = await s.cmd('MAIL FROM:<a@example.test>');
        if (!mail.startsWith('250')) return mail;
        await s.cmd('RCPT TO:<b@example.test>');
        await s.cmd('DATA');
        return s.cmd(`Subject: disk\r\n\r\n${body}\r\n.`);
      };
      const first = await send('before the disk filled up');
      expect(first).toMatch(/^250 2\.6\.0 OK: queued as /);

      // fill the disk to just above the threshold, then send a message bigger than what is left
      const filler = path.join(disk.dir, 'filler');
      const free = () => {
        const st = fs.statfsSync(disk.dir);
        return st.bavail * st.bsize;
      };
      fs.writeFileSync(filler, Buffer.alloc(Math.max(0, free() - 600 * 1024)));
      const big = ('x'.repeat(998) + '\r\n').repeat(1000); // about 1 MB: more than is left
      expect(await send(big)).toBe(
        '451 4.3.0 Requested action aborted: local error in processing, nothing was stored',
      );
      // a message under 256 KB is written in one go when it ends (not streamed): that write fails too
      fs.appendFileSync(filler, Buffer.alloc(Math.max(0, free() - 150 * 1024)));
      await new Promise((r) => setTimeout(r, 600)); // the free-space reading is cached for 500 ms
      const small = ('y'.repeat(998) + '\r\n').repeat(200); // about 200 KB: more than is left
      expect(await send(small)).toBe(
        '451 4.3.0 Requested action aborted: local error in processing, nothing was stored',
      );
      // now under the threshold: refused at MAIL
      fs.appendFileSync(filler, Buffer.alloc(Math.max(0, free() - 32 * 1024)));
      await new Promise((r) => setTimeout(r, 600)); // the free-space reading is cached for 500 ms
      expect(await s.cmd('MAIL FROM:<a@example.test>')).toBe('452 4.3.1 Insufficient system storage');

      // space comes back: accepted again
      fs.rmSync(filler);
      await new Promise((r) => setTimeout(r, 600));
      expect(await send('after the disk was freed')).toMatch(/^250 2\.6\.0 OK: queued as /);
      s.close();

      const entries = relay.entries();
      expect(
        entries.map(
          (e) =>
            e.message.includes('before the disk filled up') || e.message.includes('after the disk was freed'),
        ),
      ).toEqual([true, true]);
      expect(fs.readdirSync(relay.spool.folder('tmp'))).toEqual([]);
      const ids = relay.eventsSeen().map((e) => e.id);
      expect(ids.filter((id) => id === 2210)).toHaveLength(2); // the two failed writes
      expect(ids.filter((id) => id === 2200)).toHaveLength(1); // one low-space episode
      expect(ids).toContain(2201); // and its end
    } finally {
      await relay?.stop();
      relay = undefined;
      disk.unmount();
    }
  });
});

describe('an upstream that resets the connection in the middle of DATA', () => {
  it('is retried: the message arrives once the upstream behaves', async () => {
    let resets = 0;
    // the first two transactions: every connection is cut while the message streams
    upstream = new ScriptedUpstream({ misbehave: (n) => (n <= 2 ? (resets++, 'reset') : undefined) });
    const port = await upstream.start();
    relay = await startTestRelay({
      mode: 'relay',
      upstream: `smtp://127.0.0.1:${port}`,
      retryInitial: '200ms',
      retryMax: '200ms',
    });
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: relay.port, ignoreTLS: true });
    await transport.sendMail({
      from: 'a@example.test',
      to: 'b@example.test',
      subject: 'reset',
      text: 'again and again',
    });
    transport.close();
    await waitFor('the delivery after two resets', () => upstream!.received.length === 1, 20_000);
    expect(resets).toBe(2);
    expect(upstream.received[0]!.data).toContain('again and again');
    await waitFor('the queue to empty', async () => (await relay!.spool.list('in')).length === 0);
    await waitFor('event 1101: delivered, no NDR', () => relay!.eventsSeen().find((e) => e.id === 1101));
  });
});

describe('an upstream that goes silent in the middle of DATA', () => {
  it('gives up after --upstream-timeout, retries, and delivers once the upstream answers', async () => {
    let stalls = 0;
    // the first transaction: the final dot is never answered
    upstream = new ScriptedUpstream({ misbehave: (n) => (n === 1 ? (stalls++, 'stall') : undefined) });
    const port = await upstream.start();
    relay = await startTestRelay({
      mode: 'relay',
      upstream: `smtp://127.0.0.1:${port}`,
      upstreamTimeout: '500ms',
      retryInitial: '200ms',
      retryMax: '200ms',
    });
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: relay.port, ignoreTLS: true });
    const info = await transport.sendMail({
      from: 'a@example.test',
      to: 'b@example.test',
      subject: 'slow',
      text: 'patience',
    });
    transport.close();
    const queueId = info.response.split(' ').pop()!;
    await waitFor('the delivery after the stall', () => upstream!.received.length === 1, 20_000);
    expect(stalls).toBe(1);
    await waitFor('the queue to empty', async () => (await relay!.spool.list('in')).length === 0);
    // delivered, not bounced: the stall was a temporary failure
    // the event follows the removal from in/
    expect((await waitFor('event 1101', () => relay!.eventsSeen().find((e) => e.id === 1101))).queueId).toBe(
      queueId,
    );
  });
});
