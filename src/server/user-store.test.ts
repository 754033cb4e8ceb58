import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { hashPassword, loadUsers, verifyPassword } from './user-store.js';

describe('user store', () => {
  it('verifies scrypt hashes and refuses wrong passwords', () => {
    const stored = hashPassword('correct horse');
    expect(stored).toMatch(/^scrypt\$16384\$8\$1\$/);
    expect(verifyPassword('correct horse', stored)).toBe(true);
    expect(verifyPassword('correct horsE', stored)).toBe(false);
    expect(verifyPassword('x', 'plain')).toBe(false);
  });

  it('loads a users file and names a bad line', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ims-users-'));
    fs.writeFileSync(path.join(dir, 'ok'), `# users\nalice:${hashPassword('a')}\n\n`);
    const ok = loadUsers(path.join(dir, 'ok'));
    expect(ok.ok && [...ok.users.keys()]).toEqual(['alice']);
    fs.writeFileSync(path.join(dir, 'bad'), 'bob:secret\n');
    const bad = loadUsers(path.join(dir, 'bad'));
    expect(!bad.ok && bad.message).toContain('line 1');
  });
});
