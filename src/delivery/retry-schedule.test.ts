import { describe, expect, it } from 'vitest';
import { isExpired, nextAttemptAt, retryDelay } from './retry-schedule.js';

const minute = 60_000;
const policy = { initial: 5 * minute, max: 67 * minute, lifetime: 5 * 24 * 60 * minute };

describe('retry schedule', () => {
  it('doubles from 5 minutes up to 67 minutes', () => {
    expect([1, 2, 3, 4, 5, 6, 50].map((n) => retryDelay(policy, n) / minute)).toEqual([
      5, 10, 20, 40, 67, 67, 67,
    ]);
  });

  it('expires after the lifetime and never schedules past it', () => {
    const arrived = new Date(0);
    expect(isExpired(policy, arrived, new Date(policy.lifetime - 1))).toBe(false);
    expect(isExpired(policy, arrived, new Date(policy.lifetime))).toBe(true);
    const late = new Date(policy.lifetime - minute);
    expect(nextAttemptAt(policy, arrived, 10, late).getTime()).toBe(policy.lifetime);
    expect(nextAttemptAt(policy, arrived, 1, new Date(0)).getTime()).toBe(5 * minute);
  });
});
