import { describe, expect, it } from 'vitest';
import { acceptableAuthName, authTagField } from './any-auth.js';

describe('names taken by --accept-any-auth', () => {
  it('are tags: 1 to 200 characters, no control characters, no comma', () => {
    for (const name of ['test-a', 'Łukasz test', 'run 42', 'x'.repeat(200), 'a@b.test'])
      expect(acceptableAuthName(name), name).toBe(true);
    for (const name of ['', '   ', 'a,b', 'a\tb', 'a\r\nX-Evil: 1', 'a\x00b', 'a\x7fb', 'x'.repeat(201)])
      expect(acceptableAuthName(name), JSON.stringify(name)).toBe(false);
  });

  it('make one header field, or none', () => {
    expect(authTagField(' test-a ')).toBe('X-Ims-Relay-Tag: test-a\r\n');
    expect(authTagField('a\r\nX-Evil: 1')).toBeUndefined();
  });
});
