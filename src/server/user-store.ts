/**
 * SMTP AUTH users: a file of `user:scrypt$N$r$p$SALT$HASH` lines (salt and hash base64), made with
 * `ims-relay hash-password`. Passwords are never stored in clear; checks are constant-time.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';

const KEY_LENGTH = 32;

export function hashPassword(password: string, salt = crypto.randomBytes(16)): string {
  const N = 16384;
  const r = 8;
  const p = 1;
  const hash = crypto.scryptSync(password, salt, KEY_LENGTH, { N, r, p });
  return `scrypt$${N}$${r}$${p}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

export function verifyPassword(password: string, stored: string): boolean {
  const m = /^scrypt\$(\d+)\$(\d+)\$(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/.exec(stored);
  if (!m) return false;
  const expected = Buffer.from(m[5]!, 'base64');
  const actual = crypto.scryptSync(password, Buffer.from(m[4]!, 'base64'), expected.length, {
    N: Number(m[1]),
    r: Number(m[2]),
    p: Number(m[3]),
    maxmem: 256 * 1024 * 1024,
  });
  return actual.length === expected.length && crypto.timingSafeEqual(actual, expected);
}

export type UsersResult = { ok: true; users: Map<string, string> } | { ok: false; message: string };

/** Reads a users file; a bad line is an error that names it. */
export function loadUsers(file: string): UsersResult {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    return { ok: false, message: `cannot read the users file ${file}: ${(err as Error).message}` };
  }
  const users = new Map<string, string>();
  for (const [i, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    const hash = line.slice(colon + 1);
    if (colon <= 0 || !hash.startsWith('scrypt$')) {
      return {
        ok: false,
        message: `users file ${file}, line ${i + 1}: expected USER:scrypt$… (make one with ims-relay hash-password)`,
      };
    }
    users.set(line.slice(0, colon), hash);
  }
  return { ok: true, users };
}
