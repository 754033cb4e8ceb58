import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { JournalWriter, replayJournal } from './recipient-journal.js';

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
});
