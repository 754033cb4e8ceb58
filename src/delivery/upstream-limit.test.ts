import { describe, expect, it } from 'vitest';
import { UpstreamLimit, closedBeforeData, limitShown } from './upstream-limit.js';

describe('upstream limit', () => {
  const batch = ['a', 'b', 'c', 'd', 'e'];

  it('is the number accepted before the first 452, counted in the order sent', () => {
    expect(limitShown(batch, ['a', 'b', 'c'], [{ address: 'd', code: 452 }])).toBe(3);
    // a 550 before the limit is no acceptance
    expect(
      limitShown(
        batch,
        ['a', 'c'],
        [
          { address: 'b', code: 550 },
          { address: 'd', code: 452 },
          { address: 'e', code: 452 },
        ],
      ),
    ).toBe(2);
    expect(limitShown(batch, batch, [])).toBeUndefined();
    expect(limitShown(batch, [], [{ address: 'a', code: 452 }])).toBeUndefined();
  });

  it('keeps the smallest limit it was shown, never above the configured one', () => {
    const limit = new UpstreamLimit(5000);
    expect(limit.batchSize).toBe(5000);
    limit.learn(1000);
    expect(limit.batchSize).toBe(1000);
    limit.learn(2000);
    limit.learn(undefined);
    expect(limit.batchSize).toBe(1000);
    limit.learn(100);
    expect(limit.batchSize).toBe(100);
  });

  it('takes a 421 or a silent close as a reason to look', () => {
    expect(closedBeforeData({ code: 'ECONNECTION', response: '421 4.7.0 Error: too many errors' })).toBe(
      true,
    );
    expect(closedBeforeData({ code: 'ECONNECTION' })).toBe(true);
    expect(closedBeforeData({ code: 'EENVELOPE', response: '550 5.1.1 unknown' })).toBe(false);
    expect(closedBeforeData({ code: 'ETIMEDOUT' })).toBe(false);
    // the close came while the RCPT run was still being written
    expect(closedBeforeData({ code: 'ESOCKET', message: 'write EPIPE' })).toBe(true);
    expect(closedBeforeData({ code: 'ESOCKET', message: 'read ECONNRESET' })).toBe(true);
    expect(closedBeforeData({ code: 'ESOCKET', originalCode: 'EPIPE', message: 'broken' })).toBe(true);
    expect(closedBeforeData({ code: 'ESOCKET', message: 'connect ECONNREFUSED 127.0.0.1:25' })).toBe(false);
  });
});
