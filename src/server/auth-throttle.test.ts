import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AuthThrottle } from './auth-throttle.js';
import { hashPassword, PasswordVerifier, type ScryptFunction } from './user-store.js';

/** crypto.scrypt, recording the work each call asks for. */
function countingScrypt() {
  const calls: { N?: number; r?: number; p?: number; keylen: number }[] = [];
  const scrypt: ScryptFunction = (password, salt, keylen, options, callback) => {
    calls.push({ N: options.N, r: options.r, p: options.p, keylen });
    crypto.scrypt(password, salt, keylen, options, callback);
  };
  return { scrypt, calls };
}

const users = new Map([['alice', hashPassword('wonderland')]]);

describe('PasswordVerifier', () => {
  it('checks asynchronously and spends the same scrypt work on unknown users', async () => {
    const { scrypt, calls } = countingScrypt();
    const verifier = new PasswordVerifier(users, scrypt);
    expect(await verifier.verify('alice', 'wonderland')).toBe(true);
    expect(await verifier.verify('alice', 'wrong')).toBe(false);
    expect(await verifier.verify('mallory', 'wonderland')).toBe(false);
    expect(await verifier.verify('', '')).toBe(false);
    expect(calls).toHaveLength(4);
    // one scrypt of the same cost for each: a known user's, an unknown user's
    expect(new Set(calls.map((c) => JSON.stringify(c))).size).toBe(1);
    expect(calls[0]).toEqual({ N: 16384, r: 8, p: 1, keylen: 32 });
  });
});

describe('AuthThrottle', () => {
  const limits = { failureDelayMs: 0, maxFailures: 3, maxFailuresPerAddress: 5, windowMs: 60_000 };

  it('closes a connection at its third failure', async () => {
    const throttle = new AuthThrottle(new PasswordVerifier(users), limits);
    const conn = {};
    expect(await throttle.attempt(conn, '192.0.2.1', 'alice', 'x')).toEqual({
      ok: false,
      why: 'wrong',
      failures: 1,
    });
    expect(await throttle.attempt(conn, '192.0.2.1', 'bob', 'x')).toEqual({
      ok: false,
      why: 'wrong',
      failures: 2,
    });
    expect(await throttle.attempt(conn, '192.0.2.1', 'alice', 'y')).toEqual({
      ok: false,
      why: 'connection-limit',
      failures: 3,
    });
    expect(await throttle.attempt({}, '192.0.2.1', 'alice', 'wonderland')).toEqual({
      ok: true,
      user: 'alice',
    });
  });

  it('limits failures per address over a window, without checking passwords past it', async () => {
    let now = 1_000_000;
    const { scrypt, calls } = countingScrypt();
    const throttle = new AuthThrottle(new PasswordVerifier(users, scrypt), limits, () => now);
    for (let i = 0; i < 5; i++) await throttle.attempt({}, '192.0.2.7', 'alice', `guess${i}`);
    expect(throttle.recentFailures('192.0.2.7')).toBe(5);
    const before = calls.length;
    expect(await throttle.attempt({}, '192.0.2.7', 'alice', 'wonderland')).toMatchObject({
      ok: false,
      why: 'address-limit',
    });
    expect(calls.length).toBe(before); // no scrypt for a blocked address
    expect(await throttle.attempt({}, '192.0.2.8', 'alice', 'wonderland')).toMatchObject({ ok: true });
    now += 60_001; // the window has passed
    expect(throttle.recentFailures('192.0.2.7')).toBe(0);
    expect(await throttle.attempt({}, '192.0.2.7', 'alice', 'wonderland')).toMatchObject({ ok: true });
  });
});
