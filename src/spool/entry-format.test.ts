import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Envelope } from '../message/envelope.js';
import { decodeEntry, encodeEntry } from './entry-format.js';

const address = fc
  .tuple(fc.string({ minLength: 1, maxLength: 20 }), fc.domain())
  .map(([l, d]) => `${l}@${d}`);

const envelope: fc.Arbitrary<Envelope> = fc.record({
  version: fc.constant(1 as const),
  queueId: fc.constant('19A8F3C2B7E-00001-9F3A'),
  arrivedAt: fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
  sender: fc.oneof(fc.constant(''), address),
  recipients: fc.array(
    fc.record(
      {
        address,
        notify: fc.constantFrom<Envelope['recipients'][number]['notify']>(['NEVER'], ['SUCCESS', 'FAILURE']),
        orcpt: address.map((a) => `rfc822;${a}`),
      },
      { requiredKeys: ['address'] },
    ),
    { minLength: 1, maxLength: 30 },
  ),
  dsn: fc.record(
    { ret: fc.constantFrom('FULL' as const, 'HDRS' as const), envid: fc.string() },
    { requiredKeys: [] },
  ),
  bodyType: fc.constantFrom('7bit' as const, '8bitmime' as const),
  smtpUtf8: fc.boolean(),
  source: fc.constantFrom('smtp' as const, 'pickup' as const),
});

const message = fc.uint8Array({ maxLength: 3000 }).map((a) => Buffer.from(a));

describe('spool entry format', () => {
  it('round-trips envelope and message exactly', () => {
    fc.assert(
      fc.property(envelope, message, (env, msg) => {
        const decoded = decodeEntry(encodeEntry(env, msg));
        expect(decoded.ok).toBe(true);
        if (!decoded.ok) return;
        expect(decoded.envelope).toEqual(env);
        expect(Buffer.compare(decoded.message, msg)).toBe(0);
      }),
    );
  });

  it('detects every truncation', () => {
    fc.assert(
      fc.property(envelope, message, fc.integer({ min: 0, max: 1 << 30 }), (env, msg, cut) => {
        const entry = encodeEntry(env, msg);
        const truncated = entry.subarray(0, cut % entry.length);
        expect(decodeEntry(truncated).ok).toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  it('detects every truncation of one entry, byte by byte', () => {
    const entry = encodeEntry(
      {
        version: 1,
        queueId: '19A8F3C2B7E-00001-9F3A',
        arrivedAt: new Date(0).toISOString(),
        sender: 'a@example.test',
        recipients: [{ address: 'b@example.test' }],
        dsn: {},
        bodyType: '7bit',
        smtpUtf8: false,
        source: 'smtp',
      },
      Buffer.from('Subject: hi\r\n\r\nIMSR-END 0000000000000000 00000000\n\r\n'),
    );
    for (let len = 0; len < entry.length; len++) expect(decodeEntry(entry.subarray(0, len)).ok).toBe(false);
    expect(decodeEntry(entry).ok).toBe(true);
  });

  it('detects a changed byte in the message', () => {
    fc.assert(
      fc.property(
        envelope,
        message.filter((m) => m.length > 0),
        fc.nat(),
        (env, msg, at) => {
          const entry = encodeEntry(env, msg);
          const offset = entry.length - 36 - msg.length + (at % msg.length);
          entry[offset] = entry[offset]! ^ 0xff;
          expect(decodeEntry(entry).ok).toBe(false);
        },
      ),
      { numRuns: 200 },
    );
  });
});
