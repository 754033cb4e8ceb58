import { describe, expect, it } from 'vitest';
import { QueueIdGenerator, isQueueId } from './queue-id.js';

describe('QueueIdGenerator', () => {
  it('makes unique IDs that sort by arrival, also within one millisecond and when the clock steps back', () => {
    const times = [1000, 1000, 1000, 999, 2000, 2000];
    let i = 0;
    const gen = new QueueIdGenerator(() => times[Math.min(i++, times.length - 1)]!);
    const ids = Array.from({ length: 200 }, () => gen.next());
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
    for (const id of ids) expect(isQueueId(id)).toBe(true);
  });

  it('keeps drawing random parts after its pool of random bytes is used up', () => {
    const gen = new QueueIdGenerator(() => 1000);
    const parts = Array.from({ length: 6000 }, () => gen.next().slice(-4)); // the pool holds 2,048
    for (const part of parts) expect(part).toMatch(/^[0-9A-F]{4}$/);
    // 6,000 draws from 65,536 values give ~5,750 distinct ones; a pool that stopped refilling
    // (zeros, or the same bytes again) would give far fewer
    expect(new Set(parts.slice(0, 2048)).size).toBeGreaterThan(1900);
    expect(new Set(parts.slice(2048)).size).toBeGreaterThan(3500);
    expect(new Set(parts).size).toBeGreaterThan(5400);
  });

  it('rejects anything that is not a queue ID', () => {
    for (const bad of [
      '',
      '../in/x',
      '0194F3A2B7C-00001-9F3a',
      '0194F3A2B7C-00001-9F3A.ims',
      'a'.repeat(22),
    ]) {
      expect(isQueueId(bad)).toBe(false);
    }
  });
});
