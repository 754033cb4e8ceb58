import nodemailer from 'nodemailer';
import { afterEach, describe, expect, it } from 'vitest';
import { startRelay, type TestRelay as PublicTestRelay } from '../src/test-api.js';
import { SmtpSession } from './helpers/smtp-session.js';
import { startTestRelay, type TestRelay } from './helpers/test-relay.js';

const CAP_REPLY = '452 Requested action not taken: Exceed Recipient Limit';
let relay: TestRelay | undefined;
let publicRelay: PublicTestRelay | undefined;
afterEach(async () => {
  await relay?.stop();
  await publicRelay?.stop();
  relay = undefined;
  publicRelay = undefined;
});

async function waitUntil<T>(check: () => T | undefined): Promise<T> {
  for (let i = 0; i < 500; i++) {
    const v = check();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('condition not met');
}

describe('SMTP session transcripts', () => {
  it('records the real 32,766 / 1,000 dialogue folded, with client and queue ID, over HTTP too', async () => {
    relay = await startTestRelay({ http: '127.0.0.1:0' });
    const s = await SmtpSession.connect(relay.port);
    await s.reply();
    await s.cmd('EHLO client.test');
    const total = 33_766; // 1,000 past the cap: the most maxRecipientOvershoot allows by default
    const lines = ['MAIL FROM:<bulk@example.test>'];
    for (let i = 1; i <= total; i++) lines.push(`RCPT TO:<u${i}@example.test>`);
    lines.push('DATA');
    s.write(lines.join('\r\n') + '\r\n');
    for (let i = 0; i < total + 2; i++) await s.reply();
    const done = await s.cmd('Subject: many\r\n\r\nhi\r\n.');
    const queueId = done.split(' ').pop()!;
    await s.cmd('QUIT');
    s.close();

    const t = await waitUntil(() => relay!.transcripts.list().find((x) => x.endedAt));
    expect(t.client.address).toBe('127.0.0.1');
    expect(t.queueIds).toEqual([queueId]);
    expect(t.steps.map((x) => [x.command?.split(':')[0], x.count, x.replies[0]?.slice(0, 3)])).toEqual([
      [undefined, 1, '220'],
      ['EHLO client.test', 1, '250'],
      ['MAIL FROM', 1, '250'],
      ['RCPT TO', 32_766, '250'],
      ['RCPT TO', 1_000, '452'],
      ['DATA', 1, '354'],
      ['QUIT', 1, '221'],
    ]);
    const accepted = t.steps[3]!;
    expect(accepted.command).toBe('RCPT TO:<u1@example.test>');
    expect(accepted.lastCommand).toBe('RCPT TO:<u32766@example.test>');
    expect(accepted.lastReply).toBe('250 OK - Recipient <u32766@example.test>');
    const refused = t.steps[4]!;
    expect(refused.replies).toEqual([CAP_REPLY]);
    expect(refused.lastCommand).toBe('RCPT TO:<u33766@example.test>');
    expect(t.steps[5]!.replies).toEqual([
      '354 End data with <CR><LF>.<CR><LF>',
      `250 OK: queued as ${queueId}`,
    ]);

    const res = await fetch(`http://127.0.0.1:${relay.http!.port}/api/v1/sessions?queueId=${queueId}`);
    const body = (await res.json()) as { capacity: number; sessions: { id: string; steps: unknown[] }[] };
    expect(body.capacity).toBe(100);
    expect(body.sessions).toHaveLength(1);
    expect(body.sessions[0]!.steps).toEqual(t.steps);
    const one = await fetch(`http://127.0.0.1:${relay.http!.port}/api/v1/sessions/${t.id}`);
    expect(((await one.json()) as { id: string }).id).toBe(t.id);
    expect((await fetch(`http://127.0.0.1:${relay.http!.port}/api/v1/sessions/nope`)).status).toBe(404);
  });

  it('keeps only sessionTranscripts sessions, newest first, and none with 0', async () => {
    relay = await startTestRelay({ sessionTranscripts: '2' });
    for (const helo of ['one', 'two', 'three']) {
      const s = await SmtpSession.ready(relay.port, helo);
      await s.cmd('QUIT');
      s.close();
    }
    const list = await waitUntil(() => {
      const l = relay!.transcripts.list();
      return l.length === 2 && l.every((t) => t.endedAt) ? l : undefined;
    });
    expect(list.map((t) => t.steps[1]!.command)).toEqual(['EHLO three', 'EHLO two']);
    await relay.stop();
    relay = await startTestRelay({ sessionTranscripts: '0' });
    const s = await SmtpSession.ready(relay.port);
    await s.cmd('QUIT');
    s.close();
    expect(relay.transcripts.list()).toEqual([]);
  });

  it('is in the test API: a test can assert on the dialogue of a nodemailer send', async () => {
    publicRelay = await startRelay({ maxRecipients: 2 });
    const transport = nodemailer.createTransport({
      host: '127.0.0.1',
      port: publicRelay.smtpPort,
      secure: false,
    });
    const info = await transport.sendMail({
      from: 'app@example.test',
      to: ['a@example.test', 'b@example.test', 'c@example.test', 'd@example.test'],
      subject: 'hello',
      text: 'hi',
    });
    transport.close();
    expect(info.rejected).toEqual(['c@example.test', 'd@example.test']);
    const [session] = publicRelay.sessions();
    const rcpt = session!.steps.filter((x) => x.command?.startsWith('RCPT'));
    expect(rcpt.map((x) => [x.count, x.replies[0]])).toEqual([
      [2, '250 OK - Recipient <a@example.test>'],
      [2, CAP_REPLY],
    ]);
    expect(session!.queueIds).toHaveLength(1);
  });
});
