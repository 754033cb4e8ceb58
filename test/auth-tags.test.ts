/**
 * `--accept-any-auth` and tags from the AUTH name: parallel tests sharing one relay each send as
 * their own name and list, wait for and delete only their own mail; and the safety side: a name
 * taken by --accept-any-auth never lets a client relay.
 */
import fs from 'node:fs';
import path from 'node:path';
import nodemailer from 'nodemailer';
import { afterEach, describe, expect, it } from 'vitest';
import { RelayApi } from '../src/client/index.js';
import { resolveConfig } from '../src/config/relay-config.js';
import { startRelay, type TestRelay } from '../src/index.js';
import { hashPassword } from '../src/server/user-store.js';
import { SmtpSession } from './helpers/smtp-session.js';
import { tempDir } from './helpers/test-relay.js';

const relays: TestRelay[] = [];
afterEach(async () => {
  await Promise.all(relays.splice(0).map((r) => r.stop()));
});
async function relayWith(options: Parameters<typeof startRelay>[0]): Promise<TestRelay> {
  const relay = await startRelay(options);
  relays.push(relay);
  return relay;
}

const plain = (user: string, pass = 'x') => Buffer.from(`\0${user}\0${pass}`).toString('base64');

/** One test's mail: `count` messages sent as AUTH user `user`, over one connection. */
async function sendAs(port: number, user: string, count: number): Promise<void> {
  // nodemailer itself wants a password (any will do)
  const transport = nodemailer.createTransport({
    host: '127.0.0.1',
    port,
    ignoreTLS: true,
    auth: { user, pass: 'any' },
  });
  try {
    for (let i = 1; i <= count; i++)
      await transport.sendMail({
        from: `${user}@example.test`,
        to: 'shared@example.test',
        subject: `${user} #${i}`,
        text: 'x',
      });
  } finally {
    transport.close();
  }
}

describe('--accept-any-auth: each test sends as its own AUTH name and sees only its own mail', () => {
  it('tags by the AUTH name; the test API, GET /api/v1/mail, the wait route and delete filter by it', async () => {
    const relay = await relayWith({ acceptAnyAuth: true });
    const api = new RelayApi(`http://127.0.0.1:${relay.httpPort}`);
    // two "tests" in parallel against one relay, each with its own name and no password
    const waitA = api.waitForMail({ tag: 'test-a', subject: 'test-a #3' }, '10s');
    await Promise.all([sendAs(relay.smtpPort, 'test-a', 3), sendAs(relay.smtpPort, 'test-b', 3)]);
    expect((await waitA).tags).toEqual(['test-a']);
    await relay.waitForMessage((m) => m.subject === 'test-b #3');

    const subjects = (list: { subject?: string }[]) => list.map((m) => m.subject).sort();
    expect(subjects(await relay.messages({ tag: 'test-a' }))).toEqual([
      'test-a #1',
      'test-a #2',
      'test-a #3',
    ]);
    expect(subjects(await relay.messages({ tag: 'test-b' }))).toEqual([
      'test-b #1',
      'test-b #2',
      'test-b #3',
    ]);
    const listed = await api.listMail({ tag: 'test-b' });
    expect(listed.total).toBe(3);
    expect(listed.messages.every((m) => m.tags.join() === 'test-b')).toBe(true);
    // the relay says why: its own field, right below its Received: line
    const [one] = await relay.messages({ tag: 'test-a', subject: 'test-a #1' });
    expect(one!.raw.toString()).toMatch(
      /ESMTPA id [^\r\n]+\r\n(?:\t[^\r\n]*\r\n)+X-Ims-Relay-Tag: test-a\r\nFrom: /,
    );

    // deleting by tag deletes only that test's mail
    expect(await api.deleteMail({ tag: 'test-a' })).toBe(3);
    expect(subjects(await relay.messages())).toEqual(['test-b #1', 'test-b #2', 'test-b #3']);
    expect(await relay.deleteMessages({ tag: 'test-b' })).toBe(3);
    expect(await relay.messages()).toEqual([]);
  });

  it('is off by default: no AUTH offered without a users file, so nothing is tagged by a name', async () => {
    const relay = await relayWith({});
    const s = await SmtpSession.connect(relay.smtpPort);
    await s.reply();
    expect(await s.cmd('EHLO client.test')).not.toMatch(/AUTH/);
    s.close();
    // nodemailer sends without AUTH when the server offers none
    await sendAs(relay.smtpPort, 'test-a', 1);
    expect((await relay.waitForMessage((m) => m.subject === 'test-a #1')).raw.toString()).not.toMatch(
      /X-Ims-Relay-Tag/,
    );
    expect(await relay.messages({ tag: 'test-a' })).toEqual([]);
  });

  it('offers AUTH without TLS, takes any password, refuses a name that cannot be a tag', async () => {
    const relay = await relayWith({ acceptAnyAuth: true });
    const s = await SmtpSession.connect(relay.smtpPort);
    await s.reply();
    expect(await s.cmd('EHLO client.test')).toMatch(/250[ -]AUTH PLAIN LOGIN/);
    expect(await s.cmd(`AUTH PLAIN ${plain('a,b')}`)).toBe('535 Authentication credentials invalid');
    // control characters (a line break: a forged header field) smtp-server refuses itself
    expect(await s.cmd(`AUTH PLAIN ${plain('a\r\nX-Evil: 1')}`)).toBe('501 Error: invalid userdata');
    expect(await s.cmd(`AUTH PLAIN ${plain('x'.repeat(201))}`)).toBe(
      '535 Authentication credentials invalid',
    );
    expect(await s.cmd(`AUTH PLAIN ${plain('Łukasz test', 'anything at all')}`)).toMatch(/^235 /);
    const reply = await s.submit('<a@example.test>', ['<b@example.test>'], 'Subject: unicode\r\n\r\nx');
    expect(reply).toMatch(/^250 /);
    s.close();
    await relay.waitForMessage((m) => m.subject === 'unicode');
    expect(await relay.messages({ tag: 'Łukasz test' })).toHaveLength(1);
  });

  it('cannot go with --users (a users file means passwords are checked)', () => {
    const dir = tempDir('ims-any-auth-');
    try {
      const users = path.join(dir, 'users');
      fs.writeFileSync(users, `alice:${hashPassword('secret')}\n`);
      const result = resolveConfig({
        flags: { acceptAnyAuth: true, users, allowInsecureAuth: true },
        cwd: dir,
      });
      expect(result).toEqual({
        ok: false,
        message:
          'invalid setting acceptAnyAuth (--accept-any-auth, IMS_RELAY_ACCEPT_ANY_AUTH): it accepts any password, so it cannot go with --users; give one of them',
      });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('--accept-any-auth in relay mode: the name gives no relay permission', () => {
  it('a client outside --relay-networks gets 554 for a remote domain after AUTH; inside, it relays; nothing is tagged upstream', async () => {
    const upstream = await relayWith({});
    const relay = await relayWith({
      mode: 'relay',
      upstream: `smtp://127.0.0.1:${upstream.smtpPort}`,
      localDomains: ['local.test'],
      relayNetworks: ['127.0.0.1/32'],
      acceptAnyAuth: true,
    });
    // from 127.0.0.2 (not in --relay-networks): AUTH is accepted, relaying is not
    const outside = await SmtpSession.connectFrom(relay.smtpPort, '127.0.0.2');
    await outside.reply();
    await outside.cmd('EHLO client.test');
    expect(await outside.cmd(`AUTH PLAIN ${plain('test-a')}`)).toMatch(/^235 /);
    expect(await outside.cmd('MAIL FROM:<a@example.test>')).toMatch(/^250 /);
    expect(await outside.cmd('RCPT TO:<someone@remote.test>')).toBe('554 Relay access denied');
    expect(await outside.cmd('RCPT TO:<user@local.test>')).toMatch(/^250 /); // a local domain, as without AUTH
    outside.close();

    // from 127.0.0.1 (in --relay-networks) it relays, as it would without AUTH
    const transport = nodemailer.createTransport({
      host: '127.0.0.1',
      port: relay.smtpPort,
      ignoreTLS: true,
      auth: { user: 'test-a', pass: 'any' },
    });
    const info = await transport.sendMail({
      from: 'a@example.test',
      to: 'someone@remote.test',
      subject: 'relayed',
      text: 'x',
    });
    transport.close();
    expect(info.accepted).toEqual(['someone@remote.test']);
    const arrived = await upstream.waitForMessage((m) => m.subject === 'relayed');
    // the AUTH name is not written into mail that leaves the relay
    expect(arrived.raw.toString()).not.toMatch(/X-Ims-Relay-Tag/i);
  });

  it('control: a user of a users file does relay from outside --relay-networks', async () => {
    const dir = tempDir('ims-users-');
    try {
      const users = path.join(dir, 'users');
      fs.writeFileSync(users, `alice:${hashPassword('secret')}\n`);
      const relay = await relayWith({
        mode: 'relay',
        upstream: 'smtp://127.0.0.1:9',
        retryInitial: '1h',
        localDomains: ['local.test'],
        relayNetworks: ['127.0.0.1/32'],
        users,
        allowInsecureAuth: true,
      });
      const outside = await SmtpSession.connectFrom(relay.smtpPort, '127.0.0.2');
      await outside.reply();
      await outside.cmd('EHLO client.test');
      expect(await outside.cmd(`AUTH PLAIN ${plain('alice', 'secret')}`)).toMatch(/^235 /);
      expect(await outside.cmd('MAIL FROM:<a@example.test>')).toMatch(/^250 /);
      expect(await outside.cmd('RCPT TO:<someone@remote.test>')).toMatch(/^250 /);
      outside.close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
