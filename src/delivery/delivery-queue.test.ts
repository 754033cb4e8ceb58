import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EventLog } from '../events/event-log.js';
import { Spool } from '../spool/spool.js';
import type { DeliveryAgent, ProcessOutcome } from './delivery-agent.js';
import { DeliveryQueue } from './delivery-queue.js';

/**
 * A scripted agent: records which entries it was given, optionally says at once that only the disk
 * is left to wait for, and finishes an entry when the test says so. The queue's scheduling is what
 * is under test here; the real agent is exercised end to end in test/.
 */
function scriptedAgent(waitsForDisk: boolean) {
  const started: string[] = [];
  const finish = new Map<string, () => void>();
  const agent = {
    stopping: false,
    process(_folder: string, queueId: string, _now: Date, waitingForDisk?: () => void) {
      started.push(queueId);
      return new Promise<ProcessOutcome>((resolve) => {
        finish.set(queueId, () =>
          resolve({ kind: 'finished', to: 'removed', delivered: 1, failed: 0, reports: [] }),
        );
        if (waitsForDisk) waitingForDisk?.();
      });
    },
  };
  return { agent: agent as unknown as DeliveryAgent, started, finish };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

function queueWith(waitsForDisk: boolean, concurrency: number) {
  const spool = Spool.open(fs.mkdtempSync(path.join(os.tmpdir(), 'ims-queue-')));
  const events = new EventLog({ logLevel: 'silent' });
  const script = scriptedAgent(waitsForDisk);
  return { ...script, queue: new DeliveryQueue(spool, script.agent, events, concurrency) };
}

describe('DeliveryQueue', () => {
  it('runs at most `concurrency` entries that still work', async () => {
    const { queue, started, finish } = queueWith(false, 2);
    for (const id of ['A', 'B', 'C']) queue.enqueue('in', id);
    await tick();
    expect(started).toEqual(['A', 'B']);
    finish.get('A')!();
    await tick();
    expect(started).toEqual(['A', 'B', 'C']);
  });

  it('gives the worker of an entry that only waits for the disk to the next, up to four per worker', async () => {
    const { queue, started, finish } = queueWith(true, 1);
    for (const id of ['A', 'B', 'C', 'D', 'E', 'F']) queue.enqueue('in', id);
    await tick();
    expect(started).toEqual(['A', 'B', 'C', 'D']);
    finish.get('B')!();
    await tick();
    expect(started).toEqual(['A', 'B', 'C', 'D', 'E']);
    for (const id of ['A', 'C', 'D', 'E']) finish.get(id)!();
    await tick();
    finish.get('F')!();
    await queue.idle();
    expect(started).toEqual(['A', 'B', 'C', 'D', 'E', 'F']);
  });
});
