import fs from 'node:fs';
import { capturedFiles } from './helpers/captured.js';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SmtpSession } from './helpers/smtp-session.js';
import { startTestRelay, tempDir, type TestRelay } from './helpers/test-relay.js';
import { waitFor } from './helpers/wait-for.js';

let relay: TestRelay | undefined;
afterEach(async () => {
  await relay?.stop();
  relay = undefined;
});

async function inTransaction(r: TestRelay, mailArgs = ''): Promise<SmtpSession> {
  const s = await SmtpSession.connect(r.port);
  await s.reply();
  await s.cmd('EHLO client.test');
  expect(await s.cmd(`MAIL FROM:<a@example.test>${mailArgs}`)).toBe('250 Accepted');
  expect(await s.cmd('RCPT TO:<b@example.test>')).toMatch(/^250/);
  expect(await s.cmd('DATA')).toMatch(/^354/);
  return s;
}

const spoolFiles = (r: TestRelay) => [
  ...fs.readdirSync(r.spool.folder('in')),
  ...fs.readdirSync(r.spool.folder('tmp')),
];

describe('header block limit (Q193639)', () => {
  it('refuses a header block over the limit with 552, stores nothing, logs an event, keeps serving', async () => {
    relay = await startTestRelay({ maxHeaderBytes: '1024' });
    const s = await inTransaction(relay);
    const bigHeader = Array.from({ length: 40 }, (_, i) => `X-Filler-${i}: ${'a'.repeat(40)}`).join('\r\n');
    expect(await s.cmd(`${bigHeader}\r\n\r\nbody\r\n.`)).toBe(
      '552 Message header block exceeds the limit of 1024 bytes, nothing was stored',
    );
    expect(spoolFiles(relay)).toEqual([]);
    const event = relay.eventsSeen().find((e) => e.id === 2110);
    expect(event?.data?.limitBytes).toBe(1024);
    // the same connection goes on
    expect(await s.cmd('MAIL FROM:<a@example.test>')).toBe('250 Accepted');
    await s.cmd('RCPT TO:<b@example.test>');
    await s.cmd('DATA');
    expect(await s.cmd('Subject: small\r\n\r\nbody\r\n.')).toMatch(/^250 OK: queued as/);
    s.close();
    expect(relay.entries()).toHaveLength(1);
  });

  it('refuses a 40 KB header with the opt-in --max-header-bytes 32768 (where Postfix truncates and accepts)', async () => {
    relay = await startTestRelay({ profile: 'rfc', maxHeaderBytes: '32768' });
    const s = await SmtpSession.connect(relay.port);
    await s.reply();
    await s.cmd('EHLO client.test');
    await s.cmd('MAIL FROM:<a@example.test>');
    await s.cmd('RCPT TO:<b@example.test>');
    await s.cmd('DATA');
    const header = `X-Big: ${'b'.repeat(40 * 1024)}`;
    expect(await s.cmd(`${header}\r\n\r\nbody\r\n.`)).toBe(
      '552 5.3.4 Message header block exceeds the limit of 32768 bytes, nothing was stored',
    );
    s.close();
    expect(spoolFiles(relay)).toEqual([]);
  });
});

describe('header blocks over 32 KB on the defaults (Q193639)', () => {
  const everyone = Array.from({ length: 32_766 }, (_, i) => `user${i}@example.test`);
  const bigHeader = `From: a@example.test\r\nTo: ${everyone.join(',\r\n ')}\r\nSubject: to everyone\r\n`;

  it('stores a To: of 32,766 addresses (about 840 KB of header) with information event 2113; the admin view cuts the list', async () => {
    relay = await startTestRelay();
    const s = await inTransaction(relay);
    const done = await s.cmd(`${bigHeader}\r\nhello\r\n.`);
    expect(done).toMatch(/^250 OK: queued as /);
    s.close();
    const [entry] = relay.entries();
    expect(entry!.message).toContain(`To: user0@example.test,\r\n user1@example.test`);
    expect(entry!.message).toContain('user32765@example.test\r\nSubject: to everyone\r\n\r\nhello\r\n');
    const event = relay.eventsSeen().find((e) => e.id === 2113);
    expect(event?.queueId).toBe(entry!.queueId);
    expect(event?.data).toMatchObject({ source: 'smtp', client: '127.0.0.1' });
    expect(event!.data!.headerBytes).toBe(bigHeader.length);
    expect(event!.message).toContain('an IMS before Exchange 5.5 SP2 stopped on it (Q193639)');

    const detail = (await (
      await fetch(`http://127.0.0.1:${relay.http!.port}/api/v1/messages/${entry!.queueId}`)
    ).json()) as { parsed: { to: string; subject: string; text: string } };
    expect(detail.parsed.subject).toBe('to everyone');
    expect(detail.parsed.text).toBe('hello\n');
    expect(detail.parsed.to.length).toBeLessThan(20_000);
    const shown = detail.parsed.to.split(', ').filter((a) => a.includes('@')).length;
    expect(detail.parsed.to).toContain(`"${32_766 - shown} more addresses not shown"`);
  });

  it('a header block just under 32 KB gets no event 2113', async () => {
    relay = await startTestRelay();
    const s = await inTransaction(relay);
    expect(await s.cmd(`X-Filler: ${'a'.repeat(32 * 1024 - 20)}\r\n\r\nbody\r\n.`)).toMatch(/^250 OK/);
    s.close();
    expect(relay.eventsSeen().some((e) => e.id === 2113)).toBe(false);
  });

  it('returns the headers only in the NDR for such a message, and ingests it from pickup/ too', async () => {
    relay = await startTestRelay({
      mode: 'capture',
      fail: ['*@fail.test=550 5.1.1 User unknown'],
      pickupInterval: '50ms',
      // the capture store keeps no Maildir unless asked (merge of the store branch)
      maildir: path.join(tempDir(), 'mailboxes'),
    });
    fs.writeFileSync(
      path.join(relay.spool.folder('pickup'), 'big.eml'),
      `X-Sender: sender@example.test\r\nX-Receiver: gone@fail.test\r\n${bigHeader}\r\nhello\r\n`,
    );
    const spoolDir = relay.spool.dir;
    const [ndr] = await waitFor(
      'the NDR',
      () => {
        const files = capturedFiles(spoolDir, 'sender@example.test');
        return files.length > 0 ? files : undefined;
      },
      30_000,
    );
    await relay.delivery!.idle();
    const report = fs.readFileSync(ndr!, 'latin1');
    expect(report).toContain('Content-Type: text/rfc822-headers');
    expect(report).toContain('user32765@example.test');
    expect(report).not.toContain('\r\nhello\r\n');
    expect(report.length).toBeLessThan(bigHeader.length + 10_000);
    const event = relay.eventsSeen().find((e) => e.id === 2113);
    expect(event?.data).toMatchObject({ source: 'pickup', file: 'big.eml', headerBytes: bigHeader.length });
  });
});

describe('message size limit', () => {
  it('refuses SIZE= over the limit at MAIL', async () => {
    relay = await startTestRelay({ maxMessageSize: '10k' });
    const s = await SmtpSession.connect(relay.port);
    await s.reply();
    expect(await s.cmd('EHLO client.test')).toContain('250 SIZE 10240');
    expect(await s.cmd('MAIL FROM:<a@example.test> SIZE=20000')).toBe(
      '552 Error: message exceeds fixed maximum message size 10240',
    );
    s.close();
  });

  it('refuses a message that grows over the limit during DATA, storing nothing', async () => {
    relay = await startTestRelay({ maxMessageSize: '10k' });
    const s = await inTransaction(relay);
    const body = ('x'.repeat(98) + '\r\n').repeat(150);
    expect(await s.cmd(`Subject: big\r\n\r\n${body}.`)).toBe(
      '552 Message size exceeds the fixed maximum message size of 10240 bytes, nothing was stored',
    );
    s.close();
    expect(spoolFiles(relay)).toEqual([]);
    expect(relay.eventsSeen().some((e) => e.id === 2111)).toBe(true);
  });
});

describe('line ends in DATA', () => {
  it('stores bare LF as CRLF by default', async () => {
    relay = await startTestRelay();
    const s = await inTransaction(relay);
    s.write('Subject: lf\n\nline one\nline two\r\n.\r\n');
    expect(await s.reply()).toMatch(/^250 OK: queued as/);
    s.close();
    expect(relay.entries()[0]!.message).toMatch(/\r\nSubject: lf\r\n\r\nline one\r\nline two\r\n$/);
  });

  it('refuses bare LF with 550 5.5.2 when configured to', async () => {
    relay = await startTestRelay({ bareLf: 'reject', profile: 'rfc' });
    const s = await SmtpSession.connect(relay.port);
    await s.reply();
    await s.cmd('EHLO client.test');
    await s.cmd('MAIL FROM:<a@example.test>');
    await s.cmd('RCPT TO:<b@example.test>');
    await s.cmd('DATA');
    s.write('Subject: lf\r\n\r\nbare\nline\r\n.\r\n');
    expect(await s.reply()).toBe('550 5.5.2 Bare LF line ending in message data is not allowed, use CRLF');
    s.close();
    expect(spoolFiles(relay)).toEqual([]);
  });

  it.each([
    ['LF.LF', '\n.\n'],
    ['LF.CRLF', '\n.\r\n'],
    ['CRLF.LF', '\r\n.\n'],
    ['CR.CR', '\r.\r'],
  ])('does not end DATA at %s (no SMTP smuggling)', async (_name, fake) => {
    relay = await startTestRelay();
    const s = await inTransaction(relay);
    s.write(
      `Subject: smuggle\r\n\r\nbefore${fake}MAIL FROM:<evil@example.test>\r\nRCPT TO:<victim@example.test>\r\nDATA\r\n`,
    );
    s.write('after\r\n.\r\n');
    expect(await s.reply()).toMatch(/^250 OK: queued as/);
    expect(await s.cmd('NOOP')).toBe('250 OK'); // no stray replies for the smuggled commands
    s.close();
    const entries = relay.entries();
    expect(entries).toHaveLength(1);
    expect(entries[0]!.envelope.sender).toBe('a@example.test');
    expect(entries[0]!.message).toContain('MAIL FROM:<evil@example.test>');
    expect(entries[0]!.message.endsWith('after\r\n')).toBe(true);
  });
});

describe('spool trouble', () => {
  it('answers 452 at MAIL while free space is under the threshold, with one event per episode', async () => {
    relay = await startTestRelay({ minFreeDisk: String(Number.MAX_SAFE_INTEGER) });
    const s = await SmtpSession.connect(relay.port);
    await s.reply();
    await s.cmd('EHLO client.test');
    expect(await s.cmd('MAIL FROM:<a@example.test>')).toBe('452 Insufficient system storage');
    await new Promise((r) => setTimeout(r, 600)); // past the free-space cache
    expect(await s.cmd('MAIL FROM:<a@example.test>')).toBe('452 Insufficient system storage');
    s.close();
    expect(relay.eventsSeen().filter((e) => e.id === 2200)).toHaveLength(1);
  });

  it('in the rfc profile the free-space reply is 452 4.3.1', async () => {
    relay = await startTestRelay({ minFreeDisk: String(Number.MAX_SAFE_INTEGER), profile: 'rfc' });
    const s = await SmtpSession.connect(relay.port);
    await s.reply();
    await s.cmd('EHLO client.test');
    expect(await s.cmd('MAIL FROM:<a@example.test>')).toBe('452 4.3.1 Insufficient system storage');
    s.close();
  });

  it('answers 451 when the spool cannot be written, stores nothing, and recovers', async () => {
    relay = await startTestRelay({ profile: 'rfc' });
    const tmp = relay.spool.folder('tmp');
    fs.rmSync(tmp, { recursive: true });
    fs.writeFileSync(tmp, 'not a directory'); // every new spool file now fails with ENOTDIR
    const s = await SmtpSession.connect(relay.port);
    await s.reply();
    await s.cmd('EHLO client.test');
    await s.cmd('MAIL FROM:<a@example.test>');
    await s.cmd('RCPT TO:<b@example.test>');
    await s.cmd('DATA');
    expect(await s.cmd('Subject: x\r\n\r\nbody\r\n.')).toBe(
      '451 4.3.0 Requested action aborted: local error in processing, nothing was stored',
    );
    expect(relay.eventsSeen().find((e) => e.id === 2210)?.data?.code).toBe('ENOTDIR');
    fs.rmSync(tmp);
    fs.mkdirSync(tmp, { mode: 0o700 });
    await s.cmd('MAIL FROM:<a@example.test>');
    await s.cmd('RCPT TO:<b@example.test>');
    await s.cmd('DATA');
    expect(await s.cmd('Subject: x\r\n\r\nbody\r\n.')).toMatch(/^250 2\.6\.0 OK: queued as/);
    s.close();
    expect(relay.entries()).toHaveLength(1);
  });
});
