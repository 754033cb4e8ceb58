import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SmtpSession } from './helpers/smtp-session.js';
import { startTestRelay, type TestRelay } from './helpers/test-relay.js';

let relay: TestRelay;
beforeAll(async () => {
  relay = await startTestRelay();
});
afterAll(async () => {
  await relay.stop();
});

/** Types a line one character at a time, as a slow typist at a telnet prompt does. */
async function typeSlowly(s: SmtpSession, line: string, eol = '\n'): Promise<string> {
  for (const ch of line + eol) {
    s.write(ch);
    await new Promise((r) => setTimeout(r, 2));
  }
  return s.reply();
}

describe('a person at a telnet prompt', () => {
  it('is served with lower-case commands, LF-only line ends and slow typing', async () => {
    const s = await SmtpSession.connect(relay.port);
    expect(await s.reply()).toBe('220 relay.test ESMTP ims-relay ready');
    expect(await s.cmd('helo me.example', '\n')).toBe('250 relay.test Nice to meet you, [127.0.0.1]');
    expect(await s.cmd('help', '\n')).toBe('214 Commands: HELO EHLO MAIL RCPT DATA RSET NOOP VRFY HELP QUIT');
    expect(await s.cmd('noop', '\n')).toBe('250 OK');
    expect(await s.cmd('vrfy postmaster', '\n')).toBe(
      '252 Cannot VRFY user, but will accept message and attempt delivery',
    );
    expect(await typeSlowly(s, 'mail from:<person@example.test>')).toBe('250 Accepted');
    expect(await typeSlowly(s, 'rcpt to:<friend@example.test>')).toBe(
      '250 OK - Recipient <friend@example.test>',
    );
    expect(await s.cmd('rset', '\n')).toBe('250 Flushed');
    expect(await s.cmd('mail from:<person@example.test>', '\n')).toBe('250 Accepted');
    expect(await s.cmd('rcpt to:<friend@example.test>', '\n')).toBe(
      '250 OK - Recipient <friend@example.test>',
    );
    expect(await s.cmd('data', '\n')).toBe('354 End data with <CR><LF>.<CR><LF>');
    // telnet sends CRLF inside DATA
    expect(await typeSlowly(s, 'Subject: typed by hand\r\n\r\nHello there.\r\n.', '\r\n')).toMatch(
      /^250 OK: queued as /,
    );
    expect(await s.cmd('quit', '\n')).toBe('221 Bye');
    s.close();
    const entry = relay.entries().find((e) => e.message.includes('typed by hand'));
    expect(entry?.envelope.client?.helo).toBe('me.example');
    expect(entry?.message).toMatch(
      /^Received: from me\.example \(\[127\.0\.0\.1\]\)\r\n\tby relay\.test \(ims-relay\) with SMTP id /,
    );
    expect(entry?.message).toContain('\r\n\tfor <friend@example.test>;');
    expect(entry?.message.endsWith('Subject: typed by hand\r\n\r\nHello there.\r\n')).toBe(true);
  });

  it('answers commands out of order and unknown commands with clear errors', async () => {
    const s = await SmtpSession.connect(relay.port);
    await s.reply();
    expect(await s.cmd('MAIL FROM:<a@example.test>')).toBe('503 Error: send HELO/EHLO first');
    expect(await s.cmd('EHLO me.example')).toMatch(/^250-/);
    expect(await s.cmd('RCPT TO:<a@example.test>')).toBe('503 Error: need MAIL command');
    expect(await s.cmd('DATA')).toBe('503 Error: need RCPT command');
    expect(await s.cmd('MAIL FROM:a@example.test')).toMatch(/^501 /);
    expect(await s.cmd('FOO')).toBe('500 Error: command not recognized');
    expect(await s.cmd('QUIT')).toBe('221 Bye');
    s.close();
  });

  it('advertises PIPELINING, 8BITMIME, SMTPUTF8, DSN and SIZE but no enhanced codes in the ims profile', async () => {
    const s = await SmtpSession.connect(relay.port);
    await s.reply();
    const ehlo = await s.cmd('EHLO me.example');
    for (const ext of ['PIPELINING', '8BITMIME', 'SMTPUTF8', 'DSN', `SIZE ${25 * 1024 * 1024}`]) {
      expect(ehlo).toContain(`250${ext.startsWith('SIZE') ? ' ' : '-'}${ext}`);
    }
    expect(ehlo).not.toContain('ENHANCEDSTATUSCODES');
    expect(ehlo).not.toContain('STARTTLS');
    expect(ehlo).not.toContain('AUTH');
    s.close();
  });

  it('keeps the DSN parameters in the envelope', async () => {
    const s = await SmtpSession.connect(relay.port);
    await s.reply();
    await s.cmd('EHLO me.example');
    expect(await s.cmd('MAIL FROM:<a@example.test> RET=HDRS ENVID=abc+2B123 BODY=8BITMIME')).toBe(
      '250 Accepted',
    );
    expect(
      await s.cmd('RCPT TO:<b@example.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b@example.test'),
    ).toMatch(/^250/);
    expect(await s.cmd('RCPT TO:<c@example.test> NOTIFY=NEVER')).toMatch(/^250/);
    await s.cmd('DATA');
    const reply = await s.cmd('Subject: dsn\r\n\r\n.');
    s.close();
    const entry = relay.entries().find((e) => reply.endsWith(e.queueId))!;
    expect(entry.envelope.dsn).toEqual({ ret: 'HDRS', envid: 'abc+123' });
    expect(entry.envelope.bodyType).toBe('8bitmime');
    expect(entry.envelope.recipients).toEqual([
      { address: 'b@example.test', notify: ['SUCCESS', 'FAILURE'], orcpt: 'rfc822;b@example.test' },
      { address: 'c@example.test', notify: ['NEVER'] },
    ]);
  });
});
