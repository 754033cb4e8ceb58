import { describe, expect, it } from 'vitest';
import { startParts, type RelayPart } from './relay-parts.js';

/** Parts that write what happens to them into `log`. */
function recorded(log: string[], names: string[], fail: Record<string, string | Error> = {}): RelayPart[] {
  return names.map((name) => ({
    name,
    start: async () => {
      await new Promise((resolve) => setImmediate(resolve));
      log.push(`start ${name}`);
      const failure = fail[name];
      if (failure instanceof Error) throw failure;
      return failure;
    },
    stop: async (graceMs: number) => {
      await new Promise((resolve) => setImmediate(resolve));
      log.push(`stop ${name} ${graceMs}`);
    },
  }));
}

describe('startParts', () => {
  it('starts the parts in order and stops them in reverse order with the grace asked for', async () => {
    const log: string[] = [];
    const started = await startParts(recorded(log, ['a', 'b', 'c']));
    expect(started.ok).toBe(true);
    expect(log).toEqual(['start a', 'start b', 'start c']);
    if (!started.ok) return;
    await started.stop(500);
    expect(log.slice(3)).toEqual(['stop c 500', 'stop b 500', 'stop a 500']);
  });

  it('stops the parts already started, in reverse and without grace, when one cannot start', async () => {
    const log: string[] = [];
    const started = await startParts(recorded(log, ['a', 'b', 'c', 'd'], { c: 'port 25 is in use' }));
    expect(started).toEqual({ ok: false, message: 'port 25 is in use' });
    // c cleaned up after itself; d never started
    expect(log).toEqual(['start a', 'start b', 'start c', 'stop b 0', 'stop a 0']);
  });

  it('stops the parts already started when a start throws, and hands the error on', async () => {
    const log: string[] = [];
    const boom = new Error('disk gone');
    await expect(startParts(recorded(log, ['a', 'b', 'c'], { b: boom }))).rejects.toBe(boom);
    expect(log).toEqual(['start a', 'start b', 'stop a 0']);
  });

  it('stops once however often stop is called', async () => {
    const log: string[] = [];
    const started = await startParts(recorded(log, ['a', 'b']));
    if (!started.ok) throw new Error(started.message);
    const first = started.stop(10);
    expect(started.stop(20)).toBe(first);
    await first;
    await started.stop(30);
    expect(log.filter((l) => l.startsWith('stop'))).toEqual(['stop b 10', 'stop a 10']);
  });

  it('runs every stop when one throws, and throws the first error at the end', async () => {
    const log: string[] = [];
    const parts: RelayPart[] = [
      ...recorded(log, ['a']),
      { name: 'broken', stop: () => Promise.reject(new Error('close failed')) },
      ...recorded(log, ['c']),
    ];
    const started = await startParts(parts);
    if (!started.ok) throw new Error(started.message);
    await expect(started.stop(0)).rejects.toThrow('close failed');
    expect(log).toEqual(['start a', 'start c', 'stop c 0', 'stop a 0']);
  });

  it('takes parts without a start or a stop', async () => {
    const log: string[] = [];
    const started = await startParts([
      { name: 'only stops', stop: () => void log.push('stopped') },
      { name: 'only starts', start: () => void log.push('started') },
    ]);
    if (!started.ok) throw new Error(started.message);
    await started.stop(0);
    expect(log).toEqual(['started', 'stopped']);
  });
});
