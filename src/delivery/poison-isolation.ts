/**
 * Poison-message isolation: the bisection that Q317653 makes an Exchange administrator do by hand
 * (move half of Imcdata\In aside, restart, see whether the service stops) done by the relay itself.
 *
 * A message whose last attempt never ended — the relay was killed, crashed or stopped in the
 * middle of it, or its processing threw — is a *suspect*: it may be the message that brings the
 * relay down, or it may only have been in flight when something else did. Suspects are retried one
 * at a time, with no other message being processed (normal concurrency resumes when none is left),
 * so that a crash or an error can be blamed on the one message being processed. A suspect whose
 * lone attempt ends is *cleared* and keeps no mark. Only a message whose processing, alone, ended
 * in a crash or a thrown error `--max-processing-failures` times in a row, without recording the
 * outcome of any recipient, is *isolated* in bad/ (event 4116). An attempt that recorded progress
 * before it was cut short is not held against the message (a kill from outside in the middle of a
 * long delivery), and it goes on from there next time; nor, up to MAX_EXCUSED_IN_ROW times in a
 * row, is one that had read its entry and was still running (`alive` marks every ALIVE_MS) when it
 * was cut short: on a disk so busy that no batch completes before the next kill, a crash loop
 * from outside is told from a message that kills the relay as soon as it is read.
 *
 * The journal keeps what is needed (`attempt` records say whether they ran alone), so the count
 * survives restarts; `judgeAttempt` reads it, `PoisonIsolation` keeps the queue's list of suspects
 * and says which ready entry may start.
 */
import type { EventLog } from '../events/event-log.js';
import { lonelyFailure, type JournalState } from '../spool/recipient-journal.js';

export type AttemptVerdict =
  /** Go ahead. */
  | { kind: 'run'; suspect: boolean }
  /** The last attempt never ended: retry this message alone first. */
  | { kind: 'isolate' }
  /** Its processing, alone, failed too often: to bad/. */
  | { kind: 'poison'; failedAlone: number };

/** Lone attempts that ended in a crash or a throw without recording progress, the open one included. */
export function failuresAlone(state: JournalState): number {
  return state.failedAlone + (lonelyFailure(state) ? 1 : 0);
}

/** What to do with an entry about to be processed, given its journal. */
export function judgeAttempt(state: JournalState, alone: boolean, maxFailures: number): AttemptVerdict {
  const failed = failuresAlone(state);
  if (failed >= maxFailures) return { kind: 'poison', failedAlone: failed };
  const suspect = state.openAttempt !== undefined;
  if (suspect && !alone) return { kind: 'isolate' };
  return { kind: 'run', suspect };
}

export function poisonReason(failedAlone: number): string {
  return `processing this message alone ended in a crash or an error ${failedAlone} times in a row (poison message, found by isolation as in Q317653)`;
}

export interface ReadyEntry {
  queueId: string;
}

/** The queue's suspects: while there is one, messages are processed one at a time, suspects first. */
export class PoisonIsolation {
  /** Suspects and how many of their lone attempts failed so far. */
  private readonly suspects = new Map<string, number>();

  constructor(private readonly events: EventLog) {}

  get size(): number {
    return this.suspects.size;
  }

  has(queueId: string): boolean {
    return this.suspects.has(queueId);
  }

  /**
   * Marks a message as a suspect (the event once; a later call only updates its count of failed
   * lone attempts, when known).
   */
  suspect(queueId: string, why: string, failedAlone?: number): void {
    const known = this.suspects.get(queueId);
    if (known !== undefined) {
      if (failedAlone !== undefined) this.suspects.set(queueId, failedAlone);
      return;
    }
    this.suspects.set(queueId, failedAlone ?? 0);
    this.events.emit('messageSuspected', {
      queueId,
      detail: `${why}; it will be processed alone before normal concurrency resumes.`,
      data: { reason: why, suspects: this.suspects.size, failedAlone: failedAlone ?? 0 },
    });
  }

  /** A suspect's lone attempt failed (threw) in this run. */
  failedAlone(queueId: string): void {
    const known = this.suspects.get(queueId);
    if (known !== undefined) this.suspects.set(queueId, known + 1);
  }

  /** A suspect whose lone attempt ended: it keeps no mark. */
  clear(queueId: string, outcome: string): void {
    if (!this.suspects.delete(queueId)) return;
    this.events.emit('messageCleared', {
      queueId,
      detail: `Processed alone without a crash or an error (${outcome}); ${this.suspects.size} suspect(s) left.`,
      data: { outcome, suspectsLeft: this.suspects.size },
    });
  }

  /** Drops a suspect without clearing it (quarantined, held, deleted, gone). */
  forget(queueId: string): void {
    this.suspects.delete(queueId);
  }

  /** Drops suspects the queue no longer knows (deleted by a queue tool while waiting). */
  prune(known: (queueId: string) => boolean): void {
    for (const id of this.suspects.keys()) if (!known(id)) this.suspects.delete(id);
  }

  /**
   * Which of the ready entries may start now, given how many are being processed; -1 for none.
   * With no suspect, the first. With suspects, only a suspect, and only when nothing else runs: the
   * one with the fewest failed lone attempts, so that a crash loop from outside (which kills
   * whatever runs first after each start) spreads over the suspects and clears them, while a
   * message that kills the relay itself keeps failing until it is the last one left.
   */
  pick(ready: readonly ReadyEntry[], busy: number, from = 0): number {
    if (ready.length <= from) return -1;
    if (this.suspects.size === 0) return from;
    if (busy > 0) return -1;
    let best = -1;
    let fewest = Infinity;
    for (let i = from; i < ready.length; i++) {
      const failed = this.suspects.get(ready[i]!.queueId);
      if (failed !== undefined && failed < fewest) {
        best = i;
        fewest = failed;
      }
    }
    return best;
  }
}
