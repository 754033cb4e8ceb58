/**
 * A plain `RCPT TO:<local@host>` goes straight to smtp-server's RCPT handler in the usual state
 * of a transaction (src/server/ims-connection.ts, `plainRcpt`). In every other state it must get
 * what smtp-server's command dispatch answers: these are the states where that answer is not the
 * handler's.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { SmtpSession } from './helpers/smtp-session.js';
import { startTestRelay, type TestRelay } from './helpers/test-relay.js';

let relay: TestRelay | undefined;
afterEach(async () => {
  await relay?.stop();
  relay = undefined;
});

describe('a plain RCPT outside the usual state', () => {
  it('before the greeting (a delay set): 421, as smtp-server answers a client that talks too soon', async () => {
    relay = await startTestRelay({ greetingDelayMs: '300' });
    const s = await SmtpSession.connect(relay.port);
    s.write('RCPT TO:<a@example.test>\r\n');
    expect(await s.reply()).toBe('421 relay.test You talk too soon');
    s.close();
  });

  it('before EHLO: 503 send HELO/EHLO first; before MAIL: 503 need MAIL', async () => {
    relay = await startTestRelay();
    const s = await SmtpSession.connect(relay.port);
    await s.reply();
    expect(await s.cmd('RCPT TO:<a@example.test>')).toBe('503 Error: send HELO/EHLO first');
    await s.cmd('EHLO client.test');
    expect(await s.cmd('RCPT TO:<a@example.test>')).toBe('503 Error: need MAIL command');
    s.close();
  });

  it('inside an AUTH LOGIN exchange: the line is the user name, then the password, not a recipient', async () => {
    relay = await startTestRelay({ acceptAnyAuth: true });
    const s = await SmtpSession.ready(relay.port);
    expect(await s.cmd('AUTH LOGIN')).toMatch(/^334 /);
    expect(await s.cmd('RCPT TO:<b@example.test>')).toMatch(/^334 /);
    expect(await s.cmd('RCPT TO:<c@example.test>')).toMatch(/^(235|535) /);
    expect(await s.cmd('MAIL FROM:<a@example.test>')).toMatch(/^250 /);
    expect(await s.cmd('RCPT TO:<d@example.test>')).toBe('250 OK - Recipient <d@example.test>');
    expect(await s.cmd('DATA')).toMatch(/^354 /);
    expect(await s.cmd('Subject: x\r\n\r\nbody\r\n.')).toMatch(/^250 /);
    s.close();
    expect(relay.entries().map((e) => e.envelope.recipients.map((r) => r.address))).toEqual([
      ['d@example.test'],
    ]);
  });

  it('a repeated recipient (in another case) is kept once, as smtp-server keeps it', async () => {
    relay = await startTestRelay();
    const s = await SmtpSession.ready(relay.port);
    await s.cmd('MAIL FROM:<a@example.test>');
    expect(await s.cmd('RCPT TO:<Same@Example.test>')).toBe('250 OK - Recipient <Same@Example.test>');
    expect(await s.cmd('RCPT TO:<same@example.test>')).toBe('250 OK - Recipient <same@example.test>');
    await s.cmd('DATA');
    await s.cmd('Subject: x\r\n\r\nbody\r\n.');
    s.close();
    expect(relay.entries()[0]!.envelope.recipients.map((r) => r.address)).toEqual(['same@example.test']);
  });
});
