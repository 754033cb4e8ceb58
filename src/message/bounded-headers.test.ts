import { describe, expect, it } from 'vitest';
import { boundHeadersForView } from './bounded-headers.js';
import { summarizeMail } from './parse-mail.js';

const addresses = (n: number) => Array.from({ length: n }, (_, i) => `user${i}@example.test`);

describe('boundHeadersForView', () => {
  it('leaves a message with ordinary headers as the same Buffer', () => {
    const source = Buffer.from('To: a@example.test\r\nSubject: hi\r\n\r\nbody\r\n');
    expect(boundHeadersForView(source)).toBe(source);
  });

  it('cuts a To: of 32,766 addresses at a member and says how many were left out', async () => {
    const list = addresses(32_766);
    const source = Buffer.from(
      `From: a@example.test\r\nTo: ${list.join(',\r\n ')}\r\nSubject: big\r\n\r\nhello\r\n`,
    );
    const bounded = boundHeadersForView(source, 16 * 1024);
    expect(bounded.length).toBeLessThan(20 * 1024);
    const summary = await summarizeMail(source, 4000);
    expect(summary.subject).toBe('big');
    expect(summary.text).toBe('hello\n');
    const shown = summary.to!.split(', ').filter((a) => a.includes('@'));
    expect(shown[0]).toBe('user0@example.test');
    const more = /"(\d+) more addresses not shown": ;$/.exec(summary.to!);
    expect(Number(more![1])).toBe(32_766 - shown.length);
    expect(shown).toEqual(list.slice(0, shown.length));
  });

  it('does not cut inside a quoted display name, and cuts a long field that is no list at the limit', () => {
    const names = Array.from({ length: 300 }, (_, i) => `"Doe, John ${i}" <j${i}@example.test>`);
    const source = Buffer.from(`To: ${names.join(', ')}\r\nX-Long: ${'x'.repeat(5000)}\r\n\r\nbody\r\n`);
    const text = boundHeadersForView(source, 1000).toString('latin1');
    const to = /^To: (.*?)\r\n "(\d+) more addresses not shown":;\r\n/s.exec(text)!;
    expect(to[1]!.endsWith('example.test>,')).toBe(true);
    const kept = to[1]!.split(', "').length;
    expect(kept + Number(to[2])).toBe(300);
    expect(/^X-Long: x+\r\n\r\nbody\r\n$/m.test(text.slice(text.indexOf('X-Long')))).toBe(true);
    expect(text.slice(text.indexOf('X-Long')).length).toBeLessThan(1000 + 20);
  });
});
