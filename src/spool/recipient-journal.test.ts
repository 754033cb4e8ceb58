import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { foldRuns, JournalWriter, replayJournal, type JournalRecord } from './recipient-journal.js';

const at = new Date(0).toISOString();

describe('recipient journal', () => {
  it('replays outcomes, retries, reports and unfinished attempts', () => {
    const lines = [
      { t: 'attempt', n: 1, at },
      { t: 'deferred', i: 0, status: '4.0.0', diagnostic: '451 later', at },
      { t: 'done', i: 1, action: 'delivered', status: '2.0.0', at },
      { t: 'retry', at: '2026-01-01T00:00:00.000Z' },
      { t: 'attempt-end', at },
      { t: 'attempt', n: 2, at },
      { t: 'done', i: 0, action: 'failed', status: '5.1.1', diagnostic: '550 no', at },
      { t: 'report', queueId: 'Q', kind: 'failure' },
      { t: 'attempt', n: 3, at },
    ];
    const state = replayJournal(lines.map((l) => JSON.stringify(l)).join('\n') + '\n{"t":"done","i":');
    expect(state.attempts).toBe(3);
    expect(state.unfinishedAttempts).toBe(2);
    expect([...state.done.keys()].sort()).toEqual([0, 1]);
    expect(state.done.get(0)?.action).toBe('failed');
    expect(state.deferred.size).toBe(0);
    expect(state.retryAt?.toISOString()).toBe('2026-01-01T00:00:00.000Z');
    expect(state.reports).toEqual([{ queueId: 'Q', kind: 'failure' }]);
  });

  it('appends durably and starts on a new line after a torn tail', async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ims-j-')), 'x.journal');
    fs.writeFileSync(file, JSON.stringify({ t: 'attempt', n: 1, at }) + '\n{"t":"done","i":0,"act');
    const w = await JournalWriter.open(file);
    await w.append([{ t: 'done', i: 1, action: 'delivered', status: '2.0.0', at }]);
    await w.close();
    const state = replayJournal(fs.readFileSync(file, 'utf8'));
    expect([...state.done.keys()]).toEqual([1]);
    expect(state.attempts).toBe(1);
  });

  it('opens with the state its records describe (empty for a new journal)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ims-j-'));
    const fresh = await JournalWriter.open(path.join(dir, 'new.journal'));
    expect(fresh.state.attempts).toBe(0);
    expect(fresh.state.done.size).toBe(0);
    await fresh.append([
      { t: 'attempt', n: 1, at },
      { t: 'done', i: 2, action: 'delivered', status: '2.0.0', at },
      { t: 'hold', at },
    ]);
    await fresh.close();
    const again = await JournalWriter.open(path.join(dir, 'new.journal'));
    expect(again.state.attempts).toBe(1);
    expect(again.state.unfinishedAttempts).toBe(1);
    expect([...again.state.done.keys()]).toEqual([2]);
    expect(again.state.held).toBe(true);
    await again.close();
  });

  it('folds runs of recipients with the same outcome into one line, and replays every recipient of them', async () => {
    const delivered = (i: number): JournalRecord => ({
      t: 'done',
      i,
      action: 'delivered',
      status: '2.0.0',
      diagnostic: 'captured as Q.1',
      at,
    });
    const records: JournalRecord[] = [
      ...Array.from({ length: 100_000 }, (_, i) => delivered(i)),
      { t: 'done', i: 100_000, action: 'failed', status: '5.1.1', diagnostic: '550 no', at },
      { t: 'done', i: 100_001, action: 'failed', status: '5.1.1', diagnostic: '550 no', at },
      { t: 'done', i: 100_003, action: 'failed', status: '5.1.1', diagnostic: '550 no', at }, // a gap
      { t: 'deferred', i: 100_002, status: '4.3.0', diagnostic: '451 later', at },
      { t: 'deferred', i: 100_004, status: '4.3.0', diagnostic: '451 later', at }, // not consecutive
      { t: 'retry', at },
    ];
    const folded = foldRuns(records);
    expect(folded.map((r) => [r.t, 'i' in r ? r.i : undefined, 'n' in r ? r.n : undefined])).toEqual([
      ['done', 0, 100_000],
      ['done', 100_000, 2],
      ['done', 100_003, undefined],
      ['deferred', 100_002, undefined],
      ['deferred', 100_004, undefined],
      ['retry', undefined, undefined],
    ]);
    // written and read back: every recipient has its outcome
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ims-j-')), 'runs.journal');
    const w = await JournalWriter.open(file);
    await w.append(folded);
    await w.close();
    expect(fs.readFileSync(file, 'utf8').split('\n').length).toBeLessThan(10);
    const state = replayJournal(fs.readFileSync(file, 'utf8'));
    expect(state.done.size).toBe(100_003);
    expect(state.done.get(99_999)).toMatchObject({ action: 'delivered', diagnostic: 'captured as Q.1' });
    expect(state.done.get(100_001)).toMatchObject({ action: 'failed', status: '5.1.1' });
    expect(state.done.has(100_002)).toBe(false);
    expect([...state.deferred.keys()].sort()).toEqual([100_002, 100_004]);
  });
});
