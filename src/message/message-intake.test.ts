import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MessageIntake, type IntakeLimits } from './message-intake.js';

const limits: IntakeLimits = { maxHeaderBytes: 100, maxMessageSize: 10_000, bareLf: 'normalize' };

function run(chunks: (string | Buffer)[], l: IntakeLimits = limits) {
  const intake = new MessageIntake(l);
  const out: Buffer[] = [];
  for (const c of chunks) {
    const r = intake.process(Buffer.isBuffer(c) ? c : Buffer.from(c, 'latin1'));
    if (r) out.push(r);
  }
  return { intake, stored: Buffer.concat(out).toString('latin1') };
}

/** Splits a string into chunks at the given cut points. */
function split(text: string, cuts: number[]): string[] {
  const points = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
  const parts: string[] = [];
  let prev = 0;
  for (const p of points) {
    parts.push(text.slice(prev, p));
    prev = p;
  }
  parts.push(text.slice(prev));
  return parts;
}

describe('MessageIntake', () => {
  it('passes a CRLF message through unchanged', () => {
    const msg = 'Subject: hi\r\nFrom: a@b\r\n\r\nbody\r\n';
    const { intake, stored } = run([msg]);
    expect(stored).toBe(msg);
    expect(intake.refusal).toBeUndefined();
    expect(intake.headerBytes).toBe('Subject: hi\r\nFrom: a@b\r\n'.length);
  });

  it('with the header limit off (0) takes a 1 MB header block in any chunking and counts it exactly', () => {
    const header = Array.from({ length: 30_000 }, (_, i) => ` u${i}@example.test,`).join('\r\n');
    const msg = `To:${header}\r\nSubject: big\r\n\r\nbody\r\n`;
    const off = { ...limits, maxHeaderBytes: 0, maxMessageSize: 10_000_000 };
    for (const size of [7, 4096, msg.length]) {
      const chunks: string[] = [];
      for (let i = 0; i < msg.length; i += size) chunks.push(msg.slice(i, i + size));
      const { intake, stored } = run(chunks, off);
      expect(intake.refusal).toBeUndefined();
      expect(stored).toBe(msg);
      expect(intake.headerBytes).toBe(msg.indexOf('\r\n\r\n') + 2);
    }
  });

  it('accepts a header block of exactly the limit and refuses one byte more', () => {
    const field = (n: number) => 'X: ' + 'a'.repeat(n - 5) + '\r\n';
    expect(run([field(100) + '\r\nbody\r\n']).intake.refusal).toBeUndefined();
    expect(run([field(101) + '\r\nbody\r\n']).intake.refusal).toBe('header');
  });

  it('refuses a long header while it streams, before its line ends', () => {
    const { intake, stored } = run(['Subject: ' + 'x'.repeat(200)]);
    expect(intake.refusal).toBe('header');
    expect(stored).toBe('');
  });

  it('does not count body bytes as header', () => {
    expect(run(['A: b\r\n\r\n' + 'x'.repeat(5000) + '\r\n']).intake.refusal).toBeUndefined();
  });

  it('ends the header at a bare-LF blank line too', () => {
    expect(run(['A: b\n\n' + 'x'.repeat(500) + '\n']).intake.refusal).toBeUndefined();
  });

  it('counts the same header bytes however the stream is cut', () => {
    const msg = 'Subject: hello\r\nX-A: ' + 'y'.repeat(60) + '\r\n\r\nbody\r\nmore\r\n';
    fc.assert(
      fc.property(fc.array(fc.nat(), { maxLength: 8 }), (cuts) => {
        const { intake, stored } = run(split(msg, cuts));
        expect(intake.headerBytes).toBe(msg.indexOf('\r\n\r\n') + 2);
        expect(stored).toBe(msg);
      }),
    );
  });

  it('stores bare LF as CRLF, across chunk boundaries', () => {
    const msg = 'A: b\nC: d\r\n\nline\nline2\r\n';
    fc.assert(
      fc.property(fc.array(fc.nat(), { maxLength: 6 }), (cuts) => {
        expect(run(split(msg, cuts)).stored).toBe('A: b\r\nC: d\r\n\r\nline\r\nline2\r\n');
      }),
    );
  });

  it('refuses bare LF when configured to', () => {
    const l = { ...limits, bareLf: 'reject' as const };
    expect(run(['A: b\r\n\r\nok\r\n'], l).intake.refusal).toBeUndefined();
    expect(run(['A: b\r\n\r\nbad\n'], l).intake.refusal).toBe('bareLf');
    expect(run(['A: b\r', '\n\r\nok\r\n'], l).intake.refusal).toBeUndefined();
  });

  it('refuses a message over the size limit', () => {
    const { intake } = run(['A: b\r\n\r\n', 'x'.repeat(10_000)]);
    expect(intake.refusal).toBe('size');
  });
});
