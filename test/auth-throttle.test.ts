/**
 * AUTH that cannot be brute-forced or timed (issue 12, section 4), over real SMTP connections:
 * error sleeps and a hard limit per connection, a limit per client address, and a password check
 * that leaves the event loop free for every other client.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { resolveConfig } from '../src/config/relay-config.js';
import { EventLog } from '../src/events/event-log.js';
import { AuthThrottle } from '../src/server/auth-throttle.js';
import { SmtpListener } from '../src/server/smtp-listener.js';
import { hashPassword, PasswordVerifier, type ScryptFunction } from '../src/server/user-store.js';
import { Spool } from '../src/spool/spool.js';
import { SmtpSession } from './helpers/smtp-session.js';
import { startTestRelay, tempDir, type TestRelay } from './helpers/test-relay.js';

const plain = (user: string, password: string) =>
  `AUTH PLAIN ${Buffer.from(`\0${user}\0${password}`).toString('base64')}`;

let relay: TestRelay | undefined;
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await relay?.stop();
  relay = undefined;
  for (const c of cleanups.splice(0)) await c();
});

function usersFile(): string {
  const file = path.join(tempDir('ims-users-'), 'users');
  fs.writeFileSync(file, `alice:${hashPassword('wonderland')}\n`);
  return file;
}

describe('AUTH throttling', () => {
  it('sleeps before each failure and closes the connection at the third (defaults)', async () => {
    relay = await startTestRelay({ users: usersFile(), allowInsecureAuth: 'true' });
    const s = await SmtpSession.ready(relay.port);
    const started = Date.now();
    expect(await s.cmd(plain('alice', 'guess1'))).toMatch(/^535 /);
    // the error sleep (--auth-failure-delay, default 1s): a lower bound, never a speed claim
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(await s.cmd(plain('nobody', 'guess2'))).toMatch(/^535 /);
    expect(await s.cmd(plain('alice', 'guess3'))).toMatch(/^421 .*Too many authentication failures/);
    expect(await s.reply()).toBe(''); // closed
    expect(s.closed).toBe(true);
    expect(relay.eventsSeen().filter((e) => e.id === 2130)).toEqual([
      expect.objectContaining({ data: expect.objectContaining({ limit: 'connection', failures: 3 }) }),
    ]);
    // a fresh connection with the right password still gets in
    const t = await SmtpSession.ready(relay.port);
    expect(await t.cmd(plain('alice', 'wonderland'))).toMatch(/^235 /);
    t.close();
  });

  it('refuses AUTH from an address with too many recent failures, other addresses not', async () => {
    relay = await startTestRelay({
      users: usersFile(),
      allowInsecureAuth: 'true',
      authMaxFailuresPerIp: '2',
      authFailureDelay: '0ms',
    });
    const a = await SmtpSession.ready(relay.port);
    expect(await a.cmd(plain('alice', 'x'))).toMatch(/^535 /);
    expect(await a.cmd(plain('alice', 'y'))).toMatch(/^535 /);
    // the right password does not help past the address limit: no check is made
    expect(await a.cmd(plain('alice', 'wonderland'))).toMatch(/^421 .*from your address/);
    const b = await SmtpSession.ready(relay.port);
    expect(await b.cmd(plain('alice', 'wonderland'))).toMatch(/^421 /);
    const other = await SmtpSession.connectFrom(relay.port, '127.0.0.2');
    await other.reply();
    await other.cmd('EHLO other.test');
    expect(await other.cmd(plain('alice', 'wonderland'))).toMatch(/^235 /);
    other.close();
    expect(
      relay
        .eventsSeen()
        .filter((e) => e.id === 2130)
        .map((e) => e.data?.limit),
    ).toEqual(['address', 'address']);
  });

  it('answers NOOP on another connection while a password is being checked', async () => {
    // scrypt held at a gate: the check is in progress for as long as the test wants
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let checking!: () => void;
    const started = new Promise<void>((r) => (checking = r));
    const gated: ScryptFunction = (password, salt, keylen, options, callback) => {
      checking();
      crypto.scrypt(password, salt, keylen, options, (err, key) => void gate.then(() => callback(err, key)));
    };
    const users = new Map([['alice', hashPassword('wonderland')]]);
    const resolved = resolveConfig({
      flags: { smtp: '127.0.0.1:0', spool: tempDir(), hostname: 'relay.test', allowInsecureAuth: 'true' },
    });
    if (!resolved.ok) throw new Error(resolved.message);
    const spool = Spool.open(resolved.config.spool);
    const events = new EventLog({ logLevel: 'silent' });
    const listener = new SmtpListener(resolved.config, spool, events, undefined, {
      users,
      allowInsecureAuth: true,
      auth: new AuthThrottle(new PasswordVerifier(users, gated), {
        failureDelayMs: 0,
        maxFailures: 3,
        maxFailuresPerAddress: 10,
        windowMs: 60_000,
      }),
    });
    const { port } = await listener.listen();
    cleanups.push(async () => {
      await listener.close(0);
      await spool.close();
    });

    const guesser = await SmtpSession.ready(port);
    const other = await SmtpSession.ready(port);
    guesser.write(plain('alice', 'wrong') + '\r\n');
    await started; // the password check is under way and cannot finish before release()
    expect(await other.cmd('NOOP')).toMatch(/^250 /);
    release();
    expect(await guesser.reply()).toMatch(/^535 /);
    guesser.close();
    other.close();
  });
});
