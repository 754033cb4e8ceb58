import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mailboxName } from './mailbox-name.js';

describe('mailboxName', () => {
  it('keeps ordinary addresses readable', () => {
    expect(mailboxName('Alice.Smith+tag@Example.test')).toBe('alice.smith+tag@example.test');
  });

  it('never yields a path that leaves the mailboxes folder', () => {
    expect(mailboxName('../../etc/passwd@x')).toBe('%2E.%2F..%2Fetc%2Fpasswd@x');
    expect(mailboxName('..')).toBe('%2E.');
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (address) => {
        const name = mailboxName(address);
        expect(name).not.toContain('/');
        expect(name).not.toContain('\u0000');
        expect(['.', '..']).not.toContain(name);
        expect(name.startsWith('.')).toBe(false);
        expect(name.length).toBeLessThanOrEqual(200);
      }),
    );
  });

  it('keeps distinct addresses distinct', () => {
    expect(mailboxName('a/b@x')).not.toBe(mailboxName('a%2Fb@x'.replace('%2F', '_')));
    expect(mailboxName('x'.repeat(300) + '1@y')).not.toBe(mailboxName('x'.repeat(300) + '2@y'));
  });
});
