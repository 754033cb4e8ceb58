import { describe, expect, it } from 'vitest';
import { EventLog } from '../events/event-log.js';
import { replayJournal, type JournalRecord } from '../spool/recipient-journal.js';
import { judgeAttempt, PoisonIsolation } from './poison-isolation.js';

const at = '2026-12-03T10:00:00.000Z';
const journal = (...records: JournalRecord[]) =>
  replayJournal(records.map((r) => JSON.stringify(r)).join('\n') + '\n');
const attempt = (n: number, alone = false): JournalRecord => ({
  t: 'attempt',
  n,
  at,
  ...(alone ? { alone } : {}),
});
const end: JournalRecord = { t: 'attempt-end', at };
const done: JournalRecord = { t: 'done', i: 0, action: 'delivered', status: '2.0.0', at };

describe('judgeAttempt', () => {
  it('runs a message whose attempts all ended, concurrently', () => {
    expect(judgeAttempt(journal(attempt(1), end), false, 3)).toEqual({ kind: 'run', suspect: false });
  });

  it('isolates a message whose last attempt never ended, however often that happened with others', () => {
    const state = journal(attempt(1), attempt(2), attempt(3), attempt(4), attempt(5));
    expect(judgeAttempt(state, false, 3)).toEqual({ kind: 'isolate' });
    expect(judgeAttempt(state, true, 3)).toEqual({ kind: 'run', suspect: true });
  });

  it('quarantines only after N lone attempts that failed without progress', () => {
    expect(judgeAttempt(journal(attempt(1), attempt(2, true), attempt(3, true)), true, 3)).toEqual({
      kind: 'run',
      suspect: true,
    });
    expect(
      judgeAttempt(journal(attempt(1), attempt(2, true), attempt(3, true), attempt(4, true)), true, 3),
    ).toEqual({ kind: 'poison', failedAlone: 3 });
  });

  it('does not hold a lone attempt that recorded progress against the message', () => {
    const state = journal(attempt(1), attempt(2, true), done, attempt(3, true), done, attempt(4, true));
    expect(state.failedAlone).toBe(0);
    expect(judgeAttempt(state, true, 1)).toEqual({ kind: 'poison', failedAlone: 1 });
    expect(judgeAttempt(state, true, 2)).toEqual({ kind: 'run', suspect: true });
  });

  it('counts a progress mark only when it goes past every earlier one (a kill is excused once per step)', () => {
    const mark = (linked: number): JournalRecord => ({ t: 'progress', linked });
    const state = journal(
      attempt(1, true),
      mark(50),
      attempt(2, true),
      mark(50),
      attempt(3, true),
      mark(100),
    );
    // attempt 1 got to 50 (excused), attempt 2 only to 50 again (counted), attempt 3 to 100 (open,
    // excused, and the count starts again: the message can be processed)
    expect(state.failedAlone).toBe(0);
    expect(
      journal(attempt(1, true), mark(50), attempt(2, true), mark(50), attempt(3, true)).failedAlone,
    ).toBe(1);
    expect(judgeAttempt(state, true, 2)).toEqual({ kind: 'run', suspect: true });
    const stuck = journal(attempt(1, true), mark(50), attempt(2, true), mark(50), attempt(3, true), mark(50));
    expect(judgeAttempt(stuck, true, 2)).toEqual({ kind: 'poison', failedAlone: 2 });
  });

  it('excuses a lone attempt cut short while running (alive) without progress, at most 8 times in a row', () => {
    const alive: JournalRecord = { t: 'alive', at };
    const runs = (n: number) => Array.from({ length: n }, (_, k) => [attempt(k + 1, true), alive]).flat();
    expect(journal(...runs(8), attempt(9, true)).failedAlone).toBe(0);
    expect(judgeAttempt(journal(...runs(8)), true, 1)).toEqual({ kind: 'run', suspect: true });
    expect(judgeAttempt(journal(...runs(9)), true, 1)).toEqual({ kind: 'poison', failedAlone: 1 });
    expect(judgeAttempt(journal(...runs(9), attempt(10, true), alive), true, 2)).toEqual({
      kind: 'poison',
      failedAlone: 2,
    });
    // dying before it is even alive (as soon as it is read) is never excused
    expect(judgeAttempt(journal(attempt(1, true), attempt(2, true), attempt(3, true)), true, 3)).toEqual({
      kind: 'poison',
      failedAlone: 3,
    });
  });

  it('always counts a lone attempt that threw, even after it was alive', () => {
    const alive: JournalRecord = { t: 'alive', at };
    const threw: JournalRecord = { t: 'failed', at, error: 'boom' };
    const state = journal(attempt(1), attempt(2, true), alive, threw, attempt(3, true), alive, threw);
    expect(judgeAttempt(state, true, 2)).toEqual({ kind: 'poison', failedAlone: 2 });
  });

  it('clears everything when a lone attempt ends', () => {
    const state = journal(attempt(1, true), attempt(2, true), attempt(3, true), end);
    expect(judgeAttempt(state, false, 3)).toEqual({ kind: 'run', suspect: false });
  });
});

describe('PoisonIsolation.pick', () => {
  const events = new EventLog({ logLevel: 'silent' });
  it('lets anything run without suspects, only a suspect alone with them', () => {
    const isolation = new PoisonIsolation(events);
    const ready = [{ queueId: 'A' }, { queueId: 'B' }, { queueId: 'C' }];
    expect(isolation.pick(ready, 5)).toBe(0);
    isolation.suspect('C', 'test');
    expect(isolation.pick(ready, 1)).toBe(-1);
    expect(isolation.pick(ready, 0)).toBe(2);
    isolation.clear('C', 'finished');
    expect(isolation.pick(ready, 7)).toBe(0);
    isolation.suspect('Z', 'test');
    isolation.prune((id) => id !== 'Z');
    expect(isolation.size).toBe(0);
  });
});
