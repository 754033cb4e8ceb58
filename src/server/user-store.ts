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

const STORED = /^scrypt\$(\d+)\$(\d+)\$(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/;

export function verifyPassword(password: string, stored: string): boolean {
  const m = STORED.exec(stored);
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

/** crypto.scrypt's signature (the asynchronous one: it runs in libuv's thread pool). */
export type ScryptFunction = (
  password: string,
  salt: Buffer,
  keylen: number,
  options: crypto.ScryptOptions,
  callback: (err: Error | null, key: Buffer) => void,
) => void;

/**
 * Checks AUTH passwords off the event loop (crypto.scrypt in the thread pool: 50 ms of scrypt no
 * longer stalls every other client), and spends the same work on an unknown user as on a known
 * one: a dummy hash with the first user's parameters is checked instead, so the answer's timing
 * does not tell which users exist.
 */
export class PasswordVerifier {
  private readonly dummy: string;

  constructor(
    private readonly users: ReadonlyMap<string, string>,
    private readonly scrypt: ScryptFunction = crypto.scrypt,
  ) {
    const first = [...users.values()].map((h) => STORED.exec(h)).find(Boolean);
    const [N, r, p] = first ? [first[1], first[2], first[3]].map(Number) : [16384, 8, 1];
    const salt = crypto.randomBytes(16);
    const hash = crypto.randomBytes(first ? Buffer.from(first[5]!, 'base64').length : KEY_LENGTH);
    this.dummy = `scrypt$${N}$${r}$${p}$${salt.toString('base64')}$${hash.toString('base64')}`;
  }

  /** True when `password` is the user's; false for a wrong password or an unknown user. */
  async verify(username: string, password: string): Promise<boolean> {
    const stored = this.users.get(username);
    const m = STORED.exec(stored ?? '') ?? STORED.exec(this.dummy)!;
    const expected = Buffer.from(m[5]!, 'base64');
    const actual = await new Promise<Buffer>((resolve, reject) =>
      this.scrypt(
        password,
        Buffer.from(m[4]!, 'base64'),
        expected.length,
        { N: Number(m[1]), r: Number(m[2]), p: Number(m[3]), maxmem: 256 * 1024 * 1024 },
        (err, key) => (err ? reject(err) : resolve(key)),
      ),
    );
    const same = actual.length === expected.length && crypto.timingSafeEqual(actual, expected);
    return stored !== undefined && same;
  }
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
