/**
 * The delivery worker pool: keeps every entry of in/ and out/ either waiting for its retry time,
 * ready, or being processed by one of `concurrency` workers (default 32, the 0x20 "Max Threads" of
 * Q169686). A message whose Maildir links are all made gives its worker to the next message while
 * the rest of its attempt goes on (the folders' fsync round, recording the outcomes, any reports
 * owed, removing the entry); at most WAITING_PER_WORKER times `concurrency` messages are in
 * progress in all. Entries come from the spool scan at start, from the SMTP listener and the pickup
 * folder as they are committed, and from the agent (reports queued in out/). Processing that
 * throws is logged (event 4131) and retried soon; the agent quarantines an entry that keeps
 * throwing. Nothing here stops the relay.
 */
import type { EventLog } from '../events/event-log.js';
import type { QueueFolder, Spool } from '../spool/spool.js';
import type { DeliveryAgent, ProcessOutcome } from './delivery-agent.js';
import { failuresAlone, PoisonIsolation } from './poison-isolation.js';

type Folder = Extract<QueueFolder, 'in' | 'out'>;
const MAX_TIMER = 2 ** 31 - 1;
const WAITING_PER_WORKER = 4;
/** Journals read at a time by the backlog scan at start. */
const SCAN_BATCH = 64;

/** How far the backlog scan at start has come. */
export interface BacklogScan {
  /** Entries found in in/ and out/ at start. */
  listed: number;
  /** Of those, entries scheduled so far (their journal read, if they have one). */
  scheduled: number;
  done: boolean;
}

export class DeliveryQueue {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  /** Entries due now, in order; `readyHead` is the next one (no shift(): O(1) at any depth). */
  private ready: { folder: Folder; queueId: string }[] = [];
  private readyHead = 0;
  private readonly readySet = new Set<string>();
  private readonly active = new Set<string>();
  /** Entries of `active` that still hold a worker (the others only wait for the disk). */
  private working = 0;
  private readonly again = new Map<string, Folder>();
  private stopped = false;
  private starting = false;
  private idleWaiters: (() => void)[] = [];
  /** Outcomes by queue ID, for observers (tests, admin). */
  private readonly listeners = new Set<(queueId: string, outcome: ProcessOutcome | Error) => void>();
  /** Messages whose last attempt never ended: processed one at a time before the others. */
  private readonly isolation: PoisonIsolation;

  constructor(
    private readonly spool: Spool,
    private readonly agent: DeliveryAgent,
    private readonly events: EventLog,
    private readonly concurrency: number,
    /** Delay before retrying an entry whose processing threw. */
    private readonly crashRetryMs = 1000,
  ) {
    this.isolation = new PoisonIsolation(events);
  }

  /** How many messages are suspected of crashing the relay and wait to be processed alone. */
  get suspects(): number {
    return this.isolation.size;
  }

  readonly backlog: BacklogScan = { listed: 0, scheduled: 0, done: false };

  /**
   * Schedules everything in in/ and out/ by its journal's retry time, in the background: the
   * promise resolves once the folders are listed (one readdir each), and the journals are read
   * behind it, SCAN_BATCH at a time, while SMTP already runs. An entry without a journal is due now
   * and costs no read. `scanned` resolves when every entry is scheduled. An entry whose journal
   * shows an attempt that never ended was in flight when the last relay stopped: it becomes a
   * suspect (poison-isolation.ts), processed alone before normal concurrency. After an unclean stop
   * (`holdUntilScanned`) nothing starts until the scan has found every suspect, so that the
   * suspects go first; after a clean stop delivery runs behind the scan at once.
   */
  async start(
    options: { holdUntilScanned?: boolean } = {},
  ): Promise<{ listed: number; scanned: Promise<number> }> {
    const folders: { folder: Folder; ids: string[]; journals: Set<string> }[] = [];
    for (const folder of ['out', 'in'] as const) {
      const listing = await this.spool.listWithJournals(folder);
      folders.push({ folder, ...listing });
      this.backlog.listed += listing.ids.length;
    }
    this.starting = options.holdUntilScanned === true;
    const scanned = this.scan(folders)
      .then(
        () => this.backlog.scheduled,
        (err: Error) => {
          this.events.emit('unexpectedError', { data: { where: 'backlog scan', error: err.message } });
          return this.backlog.scheduled;
        },
      )
      .finally(() => {
        this.backlog.done = true;
        this.starting = false;
        this.pump();
      });
    return { listed: this.backlog.listed, scanned };
  }

  private async scan(folders: { folder: Folder; ids: string[]; journals: Set<string> }[]): Promise<void> {
    for (const { folder, ids, journals } of folders) {
      for (let i = 0; i < ids.length && !this.stopped; i += SCAN_BATCH) {
        const batch = ids.slice(i, i + SCAN_BATCH);
        const journalsRead = await Promise.all(
          batch.map((queueId) =>
            journals.has(queueId)
              ? this.spool.readJournal(folder, queueId).then(
                  (j) => j,
                  () => undefined, // the agent finds out what is wrong with it
                )
              : undefined,
          ),
        );
        batch.forEach((queueId, k) => {
          const journal = journalsRead[k];
          // in flight when the last relay stopped: processed alone before normal concurrency
          if (journal?.openAttempt && !journal.held)
            this.isolation.suspect(queueId, 'in flight when the relay stopped', failuresAlone(journal));
          // already delivered, or being delivered, since it was listed (SMTP, a manual retry)
          if (!this.active.has(queueId) && !this.readySet.has(queueId) && !this.timers.has(queueId))
            this.enqueue(folder, queueId, journal?.retryAt);
          this.backlog.scheduled++;
        });
        // let the event loop breathe between batches even when no journal had to be read
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
  }

  /** Delivers `queueId` at `at` (default: now). */
  enqueue(folder: Folder, queueId: string, at?: Date): void {
    if (this.stopped) return;
    if (this.active.has(queueId)) {
      this.again.set(queueId, folder);
      return;
    }
    const timer = this.timers.get(queueId);
    if (timer) {
      clearTimeout(timer);
      this.timers.delete(queueId);
    }
    const delay = at ? at.getTime() - Date.now() : 0;
    if (delay > 0) {
      const t = setTimeout(
        () => {
          this.timers.delete(queueId);
          this.makeReady(folder, queueId);
        },
        Math.min(delay, MAX_TIMER),
      );
      t.unref();
      this.timers.set(queueId, t);
      return;
    }
    this.makeReady(folder, queueId);
  }

  private makeReady(folder: Folder, queueId: string): void {
    if (this.stopped || this.readySet.has(queueId)) return;
    this.readySet.add(queueId);
    this.ready.push({ folder, queueId });
    this.pump();
  }

  private pump(): void {
    if (this.starting) return;
    if (this.isolation.size > 0) this.isolation.prune((id) => this.knows(id));
    while (
      !this.stopped &&
      this.working < this.concurrency &&
      this.active.size < this.concurrency * WAITING_PER_WORKER &&
      this.readyHead < this.ready.length
    ) {
      const i = this.isolation.pick(this.ready, this.active.size, this.readyHead);
      if (i < 0) break;
      let next: { folder: Folder; queueId: string };
      if (i === this.readyHead) next = this.ready[this.readyHead++]!;
      else next = this.ready.splice(i, 1)[0]!;
      if (this.readyHead > 1024 && this.readyHead * 2 > this.ready.length) {
        this.ready = this.ready.slice(this.readyHead);
        this.readyHead = 0;
      }
      if (!this.readySet.delete(next.queueId)) continue; // cancelled while it waited
      this.run(next.folder, next.queueId, this.isolation.has(next.queueId));
    }
    if (this.active.size === 0 && this.readyHead >= this.ready.length) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  /** Whether the entry is ready, waiting for its time, or being processed. */
  private knows(queueId: string): boolean {
    return this.readySet.has(queueId) || this.timers.has(queueId) || this.active.has(queueId);
  }

  private run(folder: Folder, queueId: string, alone: boolean): void {
    this.active.add(queueId);
    this.working++;
    let holdsWorker = true;
    const releaseWorker = () => {
      if (!holdsWorker) return;
      holdsWorker = false;
      this.working--;
    };
    let retryAt: Date | undefined;
    this.agent
      .process(
        folder,
        queueId,
        new Date(),
        () => {
          releaseWorker();
          this.pump();
        },
        alone,
      )
      .then(
        (outcome) => {
          if (outcome.kind === 'retry') retryAt = outcome.at;
          if (outcome.kind === 'suspect') {
            this.isolation.suspect(queueId, 'its last attempt never ended', outcome.failedAlone);
            retryAt = new Date();
          } else if (outcome.kind === 'retry' || outcome.kind === 'finished')
            this.isolation.clear(queueId, outcome.kind);
          else this.isolation.forget(queueId);
          for (const l of this.listeners) l(queueId, outcome);
        },
        (err: Error) => {
          if (alone) this.isolation.failedAlone(queueId);
          else this.isolation.suspect(queueId, `processing failed: ${err.message}`);
          this.events.emit('unexpectedError', {
            queueId,
            data: {
              where: 'delivery',
              error: err.message,
              stack: err.stack?.split('\n').slice(0, 5).join('\n'),
            },
          });
          for (const l of this.listeners) l(queueId, err);
          retryAt = new Date(Date.now() + this.crashRetryMs);
        },
      )
      .finally(() => {
        releaseWorker();
        this.active.delete(queueId);
        if (retryAt) this.enqueue(folder, queueId, retryAt);
        // asked for again while it ran (e.g. a manual retry): now
        const again = this.again.get(queueId);
        if (again) {
          this.again.delete(queueId);
          this.enqueue(again, queueId);
        }
        this.pump();
      });
  }

  /** Whether the entry is being processed right now. */
  isActive(queueId: string): boolean {
    return this.active.has(queueId);
  }

  /** Forgets a waiting entry (held or deleted by a queue tool); one being processed is not affected. */
  cancel(queueId: string): void {
    const timer = this.timers.get(queueId);
    if (timer) clearTimeout(timer);
    this.timers.delete(queueId);
    // a cancelled entry stays in `ready` and is skipped when its turn comes
    this.readySet.delete(queueId);
    this.again.delete(queueId);
    this.isolation.forget(queueId);
  }

  /** Calls `listener` with the outcome of every processing from now on. */
  subscribe(listener: (queueId: string, outcome: ProcessOutcome | Error) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves when no entry is ready or being processed (retries may still be scheduled). */
  idle(): Promise<void> {
    if (this.active.size === 0 && this.readyHead >= this.ready.length) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Takes no new work and waits (at most `timeoutMs`) for the entries being processed. */
  async stop(timeoutMs: number): Promise<void> {
    this.stopped = true;
    this.agent.stopping = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    this.ready = [];
    this.readyHead = 0;
    this.readySet.clear();
    if (this.active.size === 0) return;
    await Promise.race([
      new Promise<void>((resolve) => this.idleWaiters.push(resolve)),
      new Promise<void>((resolve) => setTimeout(resolve, timeoutMs).unref()),
    ]);
  }
}
