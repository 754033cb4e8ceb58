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
