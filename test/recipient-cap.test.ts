import nodemailer from 'nodemailer';
import { afterEach, describe, expect, it } from 'vitest';
import { SmtpSession } from './helpers/smtp-session.js';
import { startTestRelay, type TestRelay } from './helpers/test-relay.js';

const CAP_REPLY = '452 Requested action not taken: Exceed Recipient Limit';
let relay: TestRelay | undefined;
afterEach(async () => {
  await relay?.stop();
  relay = undefined;
});

async function session(r: TestRelay) {
  const s = await SmtpSession.connect(r.port);
  expect(await s.reply()).toMatch(/^220 relay\.test ESMTP/);
  expect(await s.cmd('EHLO client.test')).toMatch(/^250-relay\.test/);
  return s;
}

describe('recipient cap (ims profile)', () => {
  it('answers 250 OK - Recipient to 1..N and the IMS 452 after N; DATA delivers to the accepted ones', async () => {
    relay = await startTestRelay({ maxRecipients: '3' });
    const s = await session(relay);
    expect(await s.cmd('MAIL FROM:<sender@example.test>')).toBe('250 Accepted');
    for (const n of [1, 2, 3])
      expect(await s.cmd(`RCPT TO:<r${n}@example.test>`)).toBe(`250 OK - Recipient <r${n}@example.test>`);
    expect(await s.cmd('RCPT TO:<r4@example.test>')).toBe(CAP_REPLY);
    expect(await s.cmd('RCPT TO:<r5@example.test>')).toBe(CAP_REPLY);
    expect(await s.cmd('DATA')).toMatch(/^354/);
    const done = await s.cmd('Subject: capped\r\n\r\nhello\r\n.');
    expect(done).toMatch(/^250 OK: queued as [0-9A-F]{11}-[0-9A-F]{5}-[0-9A-F]{4}$/);
    const queueId = done.split(' ').pop();
    const [entry] = relay.entries();
    expect(entry!.queueId).toBe(queueId);
    expect(entry!.envelope.recipients.map((r) => r.address)).toEqual([
      'r1@example.test',
      'r2@example.test',
      'r3@example.test',
    ]);
    expect(entry!.envelope.sender).toBe('sender@example.test');

    // the count starts again after DATA
    expect(await s.cmd('MAIL FROM:<sender@example.test>')).toBe('250 Accepted');
    for (const n of [1, 2, 3])
      expect(await s.cmd(`RCPT TO:<again${n}@example.test>`)).toMatch(/^250 OK - Recipient/);
    expect(await s.cmd('RCPT TO:<again4@example.test>')).toBe(CAP_REPLY);
    await s.cmd('QUIT');
    s.close();

    // one event per transaction that hit the cap, with the number of 452 replies
    await new Promise((r) => setTimeout(r, 50));
    const capEvents = relay.eventsSeen().filter((e) => e.id === 2100);
    expect(capEvents.map((e) => e.data?.refused)).toEqual([2, 1]);
    expect(capEvents[0]!.queueId).toBe(queueId);
  });

  it('starts a new count after RSET and after EHLO/HELO; a repeated address adds no recipient', async () => {
    relay = await startTestRelay({ maxRecipients: '2' });
    const s = await session(relay);
    await s.cmd('MAIL FROM:<a@example.test>');
    expect(await s.cmd('RCPT TO:<x@example.test>')).toMatch(/^250/);
    expect(await s.cmd('RCPT TO:<X@example.test>')).toMatch(/^250/); // same address, other case
    expect(await s.cmd('RCPT TO:<x@example.test>')).toMatch(/^250/);
    expect(await s.cmd('RCPT TO:<y@example.test>')).toMatch(/^250/);
    expect(await s.cmd('RCPT TO:<z@example.test>')).toBe(CAP_REPLY);
    expect(await s.cmd('RSET')).toMatch(/^250/);
    await s.cmd('MAIL FROM:<a@example.test>');
    expect(await s.cmd('RCPT TO:<z@example.test>')).toMatch(/^250/);
    expect(await s.cmd('RCPT TO:<w@example.test>')).toMatch(/^250/);
    expect(await s.cmd('RCPT TO:<v@example.test>')).toBe(CAP_REPLY);
    expect(await s.cmd('HELO client.test')).toMatch(/^250/);
    await s.cmd('MAIL FROM:<a@example.test>');
    expect(await s.cmd('RCPT TO:<v@example.test>')).toMatch(/^250/);
    expect(await s.cmd('EHLO client.test')).toMatch(/^250/);
    await s.cmd('MAIL FROM:<a@example.test>');
    expect(await s.cmd('RCPT TO:<u@example.test>')).toMatch(/^250/);
    expect(await s.cmd('RCPT TO:<t@example.test>')).toMatch(/^250/);
    expect(await s.cmd('DATA')).toMatch(/^354/);
    expect(await s.cmd('Subject: x\r\n\r\n.')).toMatch(/^250 OK: queued as/);
    s.close();
    expect(relay.entries()[0]!.envelope.recipients.map((r) => r.address)).toEqual([
      'u@example.test',
      't@example.test',
    ]);
  });

  it('accepts the null sender MAIL FROM:<>', async () => {
    relay = await startTestRelay();
    const s = await session(relay);
    expect(await s.cmd('MAIL FROM:<>')).toBe('250 Accepted');
    expect(await s.cmd('RCPT TO:<postmaster@example.test>')).toMatch(/^250/);
    expect(await s.cmd('DATA')).toMatch(/^354/);
    expect(await s.cmd('Subject: bounce\r\n\r\n.')).toMatch(/^250 OK: queued as/);
    s.close();
    expect(relay.entries()[0]!.envelope.sender).toBe('');
  });

  it('gives nodemailer the accepted and rejected recipients and the exact 452 reply', async () => {
    relay = await startTestRelay({ maxRecipients: '5' });
    const transport = nodemailer.createTransport({
      host: '127.0.0.1',
      port: relay.port,
      secure: false,
      ignoreTLS: true,
    });
    const recipients = Array.from({ length: 8 }, (_, i) => `user${i}@example.test`);
    const info = await transport.sendMail({
      envelope: { from: 'app@example.test', to: recipients },
      from: 'app@example.test',
      to: 'undisclosed-recipients:;',
      subject: 'eight recipients',
      text: 'hello',
    });
    expect(info.accepted).toEqual(recipients.slice(0, 5));
    expect(info.rejected).toEqual(recipients.slice(5));
    const errors = (info as unknown as { rejectedErrors: { response: string }[] }).rejectedErrors;
    expect(errors.map((e) => e.response)).toEqual(Array(3).fill(CAP_REPLY));
    expect(info.response).toMatch(/^250 OK: queued as/);
    transport.close();
    expect(relay.entries()[0]!.envelope.recipients).toHaveLength(5);
  });

  it('by default never closes: 2,500 RCPT past the cap all get 452 and DATA still stores the accepted ones', async () => {
    relay = await startTestRelay({ maxRecipients: '2' });
    const s = await session(relay);
    const lines = ['MAIL FROM:<a@example.test>'];
    for (let i = 0; i < 2_502; i++) lines.push(`RCPT TO:<r${i}@example.test>`);
    lines.push('DATA');
    s.write(lines.join('\r\n') + '\r\n');
    expect(await s.reply()).toBe('250 Accepted');
    const replies: string[] = [];
    for (let i = 0; i < 2_502; i++) replies.push(await s.reply());
    expect(replies.slice(0, 2)).toEqual([
      '250 OK - Recipient <r0@example.test>',
      '250 OK - Recipient <r1@example.test>',
    ]);
    expect(replies.slice(2)).toEqual(Array(2_500).fill(CAP_REPLY));
    expect(await s.reply()).toMatch(/^354/);
    expect(await s.cmd('Subject: x\r\n\r\n.')).toMatch(/^250 OK: queued as/);
    s.close();
    expect(relay.entries()[0]!.envelope.recipients.map((r) => r.address)).toEqual([
      'r0@example.test',
      'r1@example.test',
    ]);
    expect(relay.eventsSeen().some((e) => e.id === 2101)).toBe(false);
    expect(relay.eventsSeen().find((e) => e.id === 2100)?.data).toMatchObject({
      refused: 2_500,
      accepted: 2,
    });
  });

  it('closes with 421 after the configured overshoot of refused recipients (opt-in)', async () => {
    relay = await startTestRelay({ maxRecipients: '1', maxRecipientOvershoot: '3' });
    const s = await session(relay);
    await s.cmd('MAIL FROM:<a@example.test>');
    expect(await s.cmd('RCPT TO:<r0@example.test>')).toMatch(/^250/);
    for (let i = 1; i <= 3; i++) expect(await s.cmd(`RCPT TO:<r${i}@example.test>`)).toBe(CAP_REPLY);
    expect(await s.cmd('RCPT TO:<r4@example.test>')).toMatch(
      /^421 relay\.test Too many recipients past the limit/,
    );
    expect(await s.reply()).toBe(''); // closed
    expect(relay.eventsSeen().some((e) => e.id === 2101)).toBe(true);
  });
});

describe('recipient cap (rfc profile)', () => {
  it('advertises ENHANCEDSTATUSCODES and uses 2.1.5 and 4.5.3, not smtp-server 4.2.2', async () => {
    relay = await startTestRelay({ maxRecipients: '1', profile: 'rfc' });
    const s = await SmtpSession.connect(relay.port);
    expect(await s.reply()).toMatch(/^220 relay\.test/);
    expect(await s.cmd('EHLO client.test')).toContain('250-ENHANCEDSTATUSCODES');
    expect(await s.cmd('MAIL FROM:<a@example.test>')).toBe('250 2.1.0 Accepted');
    expect(await s.cmd('RCPT TO:<b@example.test>')).toBe('250 2.1.5 OK - Recipient <b@example.test>');
    expect(await s.cmd('RCPT TO:<c@example.test>')).toBe(
      '452 4.5.3 Requested action not taken: Exceed Recipient Limit',
    );
    expect(await s.cmd('DATA')).toBe('354 End data with <CR><LF>.<CR><LF>');
    expect(await s.cmd('Subject: x\r\n\r\n.')).toMatch(/^250 2\.6\.0 OK: queued as /);
    expect(await s.cmd('NOOP')).toBe('250 2.0.0 OK');
    expect(await s.cmd('BOGUS')).toBe('500 5.5.2 Error: command not recognized');
    s.close();
  });

  it('closes with 421 4.5.3 past the opt-in overshoot', async () => {
    relay = await startTestRelay({ maxRecipients: '1', maxRecipientOvershoot: '1', profile: 'rfc' });
    const s = await SmtpSession.connect(relay.port);
    await s.reply();
    await s.cmd('EHLO client.test');
    await s.cmd('MAIL FROM:<a@example.test>');
    await s.cmd('RCPT TO:<b@example.test>');
    expect(await s.cmd('RCPT TO:<c@example.test>')).toMatch(/^452 4\.5\.3 /);
    expect(await s.cmd('RCPT TO:<d@example.test>')).toMatch(
      /^421 4\.5\.3 relay\.test Too many recipients past the limit \(1 refused\), closing connection$/,
    );
    s.close();
  });
});

describe('recipient cap at the real 32,766', () => {
  it('accepts 32,766 pipelined recipients and answers 452 to the rest', async () => {
    relay = await startTestRelay();
    const s = await session(relay);
    const total = 32_800;
    const lines = ['MAIL FROM:<bulk@example.test>'];
    for (let i = 1; i <= total; i++) lines.push(`RCPT TO:<u${i}@example.test>`);
    lines.push('DATA');
    s.write(lines.join('\r\n') + '\r\n');
    expect(await s.reply()).toBe('250 Accepted');
    const replies: string[] = [];
    for (let i = 1; i <= total; i++) replies.push(await s.reply());
    expect(replies[0]).toBe('250 OK - Recipient <u1@example.test>');
    expect(replies[32_765]).toBe('250 OK - Recipient <u32766@example.test>');
    expect(replies[32_766]).toBe(CAP_REPLY);
    expect(replies.filter((r) => r.startsWith('250 OK - Recipient'))).toHaveLength(32_766);
    expect(replies.filter((r) => r === CAP_REPLY)).toHaveLength(34);
    expect(await s.reply()).toMatch(/^354/);
    expect(await s.cmd('Subject: many\r\n\r\nhi\r\n.')).toMatch(/^250 OK: queued as/);
    s.close();
    const [entry] = relay.entries();
    expect(entry!.envelope.recipients).toHaveLength(32_766);
    expect(entry!.envelope.recipients[32_765]!.address).toBe('u32766@example.test');
  });
});
