/**
 * Processes one spool entry: delivers to the recipients not yet done (message store or upstream),
 * records each outcome in the entry's journal, and when every recipient is done, queues the
 * reports the sender is owed (NDRs capped at 32,766 listed recipients with event 3041, Q272672)
 * and finishes the entry (removed, or archive/ with event 4117 when some recipients failed).
 * Otherwise it says when to try again. Every expected outcome is a value; an entry that cannot be
 * read, or whose processing throws too often in a row, is quarantined in bad/ (event 4116).
 */
import { formatDuration } from '../config/duration.js';
import type { EventLog } from '../events/event-log.js';
import {
  buildReports,
  isDeliveryStatusReport,
  isReported,
  outcomesToReport,
  type RecipientOutcome,
  type ReportSet,
} from '../ndr/index.js';
import type { Envelope } from '../message/envelope.js';
import {
  foldRuns,
  type JournalRecord,
  type JournalState,
  type JournalWriter,
} from '../spool/recipient-journal.js';
import type { QueueFolder, Spool } from '../spool/spool.js';
import type { RecipientAttempt } from './delivery-result.js';
import { matchFailureRule, type FailureRule } from '../config/failure-rules.js';
import { failuresAlone, judgeAttempt, poisonReason } from './poison-isolation.js';
import { deferUnreadable } from './unreadable-entry.js';
import { isExpired, nextAttemptAt, type RetryPolicy } from './retry-schedule.js';
import type { Target } from './target.js';

export interface AgentSettings {
  hostname: string;
  retry: RetryPolicy;
  maxProcessingFailures: number;
  archive: boolean;
  ndr: { maxRecipients: number; overflow: 'truncate' | 'split'; maxOriginalBytes: number };
  /** Read at each attempt, so rules can change while the relay runs. */
  failureRules: () => readonly FailureRule[];
  /** Test-only: processing a message that contains this text kills the process (SIGKILL). */
  crashOn?: string;
}

export type ProcessOutcome =
  | { kind: 'finished'; to: 'archive' | 'removed'; delivered: number; failed: number; reports: string[] }
  | { kind: 'retry'; at: Date; pending: number }
  | { kind: 'quarantined'; reason: string }
  | { kind: 'held' }
  | { kind: 'gone' }
  /** Its last attempt never ended: to be processed alone first (poison-isolation.ts); nothing was done. */
  | { kind: 'suspect'; failedAlone: number };

/** The queue folder a report entry goes to, and how the agent tells the queue about it. */
export type ReportQueued = (queueId: string) => void;

/** How often a lone attempt writes an `alive` mark to its journal. */
const ALIVE_MS = 200;

/**
 * What to call when a local delivery's captures are made (`n`: recipients of the attempt so far):
 * a lone attempt leaves a progress mark there (poison-isolation.ts).
 */
interface Steps {
  linked?: (n: number) => void;
}

export class DeliveryAgent {
  /** Set when the relay stops: a message being delivered stops after its current batch. */
  stopping = false;

  constructor(
    private readonly spool: Spool,
    private readonly events: EventLog,
    private readonly settings: AgentSettings,
    private readonly target: Target,
    private readonly reportQueued: ReportQueued,
  ) {}

  /**
   * `waitingForDisk` is called (at most once) when the Maildir links of the last batch are made:
   * what is left of the attempt is mostly waiting for the disk (the folders' fsync round, the
   * journal, the entry's removal; and building any reports owed). The queue then lets another
   * message start.
   */
  async process(
    folder: QueueFolder,
    queueId: string,
    now = new Date(),
    waitingForDisk?: () => void,
    /** Nothing else is being processed (poison-message isolation, see poison-isolation.ts). */
    alone = false,
  ): Promise<ProcessOutcome> {
    if (!(await this.spool.locate(queueId))) return { kind: 'gone' };
    let journal: JournalWriter;
    try {
      journal = await this.spool.openJournal(folder, queueId);
    } catch (err) {
      // out of descriptors and the like: try again later; a journal that is a directory, a link,
      // a FIFO or not readable would fail forever: bad/, with the reason
      const code = (err as NodeJS.ErrnoException).code ?? '';
      if (['EMFILE', 'ENFILE', 'EAGAIN', 'EBUSY', 'EIO', 'ENOSPC'].includes(code)) throw err;
      return this.quarantine(
        folder,
        queueId,
        `its delivery journal cannot be used (${code}): ${(err as Error).message}`,
      );
    }
    const state = journal.state;
    if (state.held) {
      await journal.close();
      return { kind: 'held' };
    }
    const verdict = judgeAttempt(state, alone, this.settings.maxProcessingFailures);
    if (verdict.kind !== 'run') await journal.close();
    if (verdict.kind === 'poison') return this.quarantine(folder, queueId, poisonReason(verdict.failedAlone));
    if (verdict.kind === 'isolate') return { kind: 'suspect', failedAlone: failuresAlone(state) };
    if (verdict.suspect) {
      this.events.emit('messageIsolated', {
        queueId,
        detail: `Processing it alone (${failuresAlone(state)} of ${this.settings.maxProcessingFailures} lone attempts failed so far).`,
        data: { failedAlone: failuresAlone(state), maxFailures: this.settings.maxProcessingFailures },
      });
    }
    return this.processOpen(folder, queueId, journal, now, waitingForDisk, alone);
  }

  private async processOpen(
    folder: QueueFolder,
    queueId: string,
    journal: JournalWriter,
    now: Date,
    waitingForDisk: (() => void) | undefined,
    alone: boolean,
  ): Promise<ProcessOutcome> {
    const state = journal.state;
    let alive: NodeJS.Timeout | undefined;
    try {
      // counted before the attempt: an attempt that never ends (crash, throw) stays open, and the
      // next one sees it (poison-isolation.ts)
      // a lone attempt's record needs no fsync: it only matters if the process dies, not the machine
      await journal.append(
        [{ t: 'attempt', n: state.attempts + 1, at: now.toISOString(), ...(alone ? { alone } : {}) }],
        !alone,
      );
      const entry = await this.spool.readEntry(folder, queueId);
      if (!entry.ok && entry.transient) {
        const outcome = await deferUnreadable(this.spool, folder, queueId, state, entry.reason, entry.code, {
          retry: this.settings.retry,
          now,
          append: journal.append.bind(journal),
          events: this.events,
        });
        await journal.close();
        if (outcome.kind === 'expired') return this.quarantine(folder, queueId, outcome.reason);
        return outcome;
      }
      if (!entry.ok) {
        await journal.close();
        return this.quarantine(folder, queueId, `the spool entry cannot be read: ${entry.reason}`);
      }
      if (this.settings.crashOn && entry.message.includes(this.settings.crashOn)) {
        process.kill(process.pid, 'SIGKILL'); // test-only: a message that really kills the process
      }
      state.attempts++;
      // a lone attempt says that it got past reading its entry, and now and then that it is still
      // running (poison-isolation.ts)
      if (alone) {
        const mark = () =>
          void journal.append([{ t: 'alive', at: new Date().toISOString() }], false).catch(() => undefined);
        mark();
        alive = setInterval(mark, ALIVE_MS);
        alive.unref();
      }
      const outcome = await this.attempt(
        folder,
        entry.envelope,
        entry.message,
        state,
        journal.append.bind(journal),
        now,
        waitingForDisk,
        alone ? this.aloneSteps(state, journal) : {},
      );
      // a finished entry is removed or moved next; its end needs no fsync of its own
      await journal.append([{ t: 'attempt-end', at: new Date().toISOString() }], outcome.kind !== 'finished');
      await journal.close();
      if (outcome.kind === 'finished') await this.finish(folder, queueId, outcome);
      return outcome;
    } catch (err) {
      clearInterval(alive);
      if (alone)
        await journal
          .append([{ t: 'failed', at: new Date().toISOString(), error: (err as Error).message }])
          .catch(() => undefined);
      await journal.close().catch(() => undefined);
      throw err;
    } finally {
      clearInterval(alive);
    }
  }

  private async attempt(
    folder: QueueFolder,
    envelope: Envelope,
    message: Buffer,
    state: JournalState,
    append: (records: JournalRecord[]) => Promise<void>,
    now: Date,
    waitingForDisk: (() => void) | undefined,
    steps: Steps,
  ): Promise<ProcessOutcome> {
    const arrivedAt = new Date(envelope.arrivedAt);
    // pending recipients, grouped by address (compared case-insensitively)
    const pending = new Map<string, number[]>();
    envelope.recipients.forEach((r, i) => {
      if (state.done.has(i)) return;
      const key = r.address.toLowerCase();
      const list = pending.get(key);
      if (list) list.push(i);
      else pending.set(key, [i]);
    });

    if (pending.size > 0) {
      // outcomes are journaled as they come (per Maildir batch, per upstream transaction), so a
      // crash in the middle of a large message does not deliver its finished part again
      const record = async (attempts: RecipientAttempt[]): Promise<void> => {
        const at = new Date().toISOString();
        const records: JournalRecord[] = [];
        for (const a of attempts) {
          for (const i of pending.get(a.address.toLowerCase()) ?? []) {
            const result = {
              i,
              status: a.status,
              diagnostic: a.diagnostic,
              at,
              ...(a.remoteMta ? { remoteMta: a.remoteMta } : {}),
            };
            if (a.kind === 'temporary') records.push({ t: 'deferred', ...result });
            else
              records.push({
                t: 'done',
                action: a.kind === 'permanent' ? 'failed' : this.doneAction,
                ...result,
              });
          }
        }
        const folded = foldRuns(records);
        await append(folded);
        for (const r of folded) {
          if (r.t !== 'done' && r.t !== 'deferred') continue;
          const { t: _t, n = 1, ...result } = r;
          const into = r.t === 'done' ? state.done : state.deferred;
          for (let k = 0; k < n; k++) into.set(r.i + k, result as typeof r);
        }
      };
      const addresses = [...pending.values()].map((idx) => envelope.recipients[idx[0]!]!.address);
      if (isExpired(this.settings.retry, arrivedAt, now)) await record(this.expire(envelope, pending, state));
      else await this.deliver(envelope, message, arrivedAt, addresses, record, waitingForDisk, steps);
    }

    const waiting = envelope.recipients.length - state.done.size;
    if (waiting > 0) {
      // cut short by a stop: due again as soon as the relay runs again
      const at = this.stopping
        ? new Date()
        : nextAttemptAt(this.settings.retry, arrivedAt, state.attempts, new Date());
      await append([{ t: 'retry', at: at.toISOString() }]);
      return { kind: 'retry', at, pending: waiting };
    }

    const reports = state.reportsDone
      ? []
      : await this.queueReports(folder, envelope, message, state, append);
    if (reports === undefined) {
      // the report could not be made (event 4120): keep the message and try the reports again
      const at = new Date(Date.now() + this.settings.retry.initial);
      await append([{ t: 'retry', at: at.toISOString() }]);
      return { kind: 'retry', at, pending: 0 };
    }
    let failed = 0;
    for (const r of state.done.values()) if (r.action === 'failed') failed++;
    return {
      kind: 'finished',
      to: failed > 0 || this.settings.archive ? 'archive' : 'removed',
      delivered: state.done.size - failed,
      failed,
      reports,
    };
  }

  /** Recipients still pending when the lifetime is over fail with 4.4.7, keeping their last error. */
  private expire(
    envelope: Envelope,
    pending: Map<string, number[]>,
    state: JournalState,
  ): RecipientAttempt[] {
    const lifetimeText = formatDuration(this.settings.retry.lifetime);
    return [...pending.values()].map((indexes) => {
      const last = state.deferred.get(indexes[0]!);
      return {
        kind: 'permanent',
        address: envelope.recipients[indexes[0]!]!.address,
        status: '4.4.7',
        diagnostic: `message expired: not delivered within ${lifetimeText}${last?.diagnostic ? `; last error: ${last.diagnostic}` : ''}`,
        ...(last?.remoteMta ? { remoteMta: last.remoteMta } : {}),
      };
    });
  }

  /**
   * How a message processed alone is delivered: leaving a mark in the journal as soon as its
   * captures are made (written, not fsynced: it is evidence for the next start
   * that the attempt got somewhere before a kill, see poison-isolation.ts).
   */
  private aloneSteps(state: JournalState, journal: JournalWriter): Steps {
    const before = state.done.size;
    return {
      linked: (n) =>
        void journal.append([{ t: 'progress', linked: before + n }], false).catch(() => undefined),
    };
  }

  private get doneAction(): 'delivered' | 'relayed' {
    return this.target.doneAction;
  }

  private async deliver(
    envelope: Envelope,
    message: Buffer,
    arrivedAt: Date,
    addresses: string[],
    record: (attempts: RecipientAttempt[]) => Promise<void>,
    waitingForDisk: (() => void) | undefined,
    { linked }: Steps,
  ): Promise<void> {
    const ruled: RecipientAttempt[] = [];
    const rules = this.settings.failureRules();
    const rest: string[] = [];
    for (const address of addresses) {
      const rule = rules.length > 0 ? matchFailureRule(rules, address) : undefined;
      if (!rule) rest.push(address);
      else
        ruled.push({
          kind: rule.code >= 500 ? 'permanent' : 'temporary',
          address,
          status: rule.status,
          diagnostic: `${rule.code} ${rule.text}`,
        });
    }
    await record(ruled);
    if (rest.length === 0) return;
    await this.target.deliver(
      { queueId: envelope.queueId, sender: envelope.sender, arrivedAt, message, addresses: rest },
      {
        record,
        stopping: () => this.stopping,
        ...(linked ? { linked } : {}),
        ...(waitingForDisk ? { waitingForDisk } : {}),
      },
    );
  }

  /**
   * Queues the reports the sender is owed. Each report's queue ID is recorded in the journal before
   * the report is written, so a crash in between neither loses it nor queues it twice.
   * Returns the report queue IDs, or undefined when a report could not be made (event 4120).
   */
  private async queueReports(
    folder: QueueFolder,
    envelope: Envelope,
    message: Buffer,
    state: JournalState,
    append: (records: JournalRecord[]) => Promise<void>,
  ): Promise<string[] | undefined> {
    const headerEnd = message.indexOf('\r\n\r\n');
    const headers = headerEnd >= 0 ? message.subarray(0, headerEnd + 2) : message;
    // only what a report can be owed for (a message to 100,000 recipients all delivered builds
    // no 100,000 outcomes to find none)
    const outcomes: RecipientOutcome[] = [...state.done.entries()]
      .filter(([index, r]) => {
        const recipient = envelope.recipients[index];
        // an index outside the envelope goes on, for outcomesToReport to refuse as before
        return recipient === undefined || isReported(r.action, recipient);
      })
      .sort((a, b) => a[0] - b[0])
      .map(([index, r]) => ({
        index,
        action: r.action,
        status: r.status,
        ...(r.diagnostic ? { diagnostic: r.diagnostic } : {}),
        ...(r.remoteMta ? { remoteMta: r.remoteMta } : {}),
        lastAttemptAt: new Date(r.at),
      }));
    const owed = outcomesToReport(envelope, outcomes, folder === 'out' || isDeliveryStatusReport(headers));
    if (owed.failures.length === 0 && owed.successes.length === 0) {
      // no report is owed, so none can fail (no 4120); a journal that cannot be written is a
      // processing failure like any other
      await append([{ t: 'reports-done' }]);
      return [];
    }
    const queued: string[] = [];
    try {
      for (const [kind, list] of [
        ['failure', owed.failures],
        ['success', owed.successes],
      ] as const) {
        if (list.length === 0) continue;
        const reserved = state.reports.filter((r) => r.kind === kind).map((r) => r.queueId);
        const set: ReportSet = await buildReports(
          kind,
          envelope,
          {
            headers,
            ...(message.length <= this.settings.ndr.maxOriginalBytes ? { message } : {}),
            size: message.length,
          },
          list,
          {
            reportingMta: this.settings.hostname,
            maxRecipients: this.settings.ndr.maxRecipients,
            overflow: this.settings.ndr.overflow,
            maxOriginalBytes: this.settings.ndr.maxOriginalBytes,
            now: new Date(),
            idSeed: reserved[0] ?? envelope.queueId,
          },
        );
        // every report's queue ID is journaled (durably) before its events and files: a kill at
        // any point after this finds them reserved, so 3041 is logged at most once per message
        const ids = set.reports.map((_, k) => reserved[k] ?? this.spool.newQueueId());
        const fresh = ids
          .slice(reserved.length)
          .map((queueId): JournalRecord => ({ t: 'report', queueId, kind }));
        if (fresh.length > 0) await append(fresh);
        if (set.capped && kind === 'failure' && reserved.length === 0) {
          this.events.emit('ndrRecipientsCapped', {
            queueId: envelope.queueId,
            detail: `${list.length} recipients failed; ${list.length - set.omitted} are listed in ${set.reports.length} report(s)${set.omitted > 0 ? `, ${set.omitted} are not` : ''}.`,
            data: {
              failed: list.length,
              listed: list.length - set.omitted,
              omitted: set.omitted,
              reports: set.reports.length,
              limit: this.settings.ndr.maxRecipients,
              overflow: this.settings.ndr.overflow,
            },
          });
        }
        for (const [k, report] of set.reports.entries()) {
          const reportId = ids[k]!;
          if (!(await this.spool.locate(reportId))) {
            const writer = this.spool.createEntry(
              {
                version: 1,
                queueId: reportId,
                arrivedAt: new Date().toISOString(),
                sender: '',
                recipients: [{ address: report.recipient }],
                dsn: {},
                bodyType: '8bitmime',
                smtpUtf8: false,
                source: 'report',
              },
              'out',
            );
            writer.end(report.message);
            try {
              await writer.commit();
            } catch (err) {
              await writer.discard().catch(() => undefined);
              throw err;
            }
            this.reportQueued(reportId);
          }
          queued.push(reportId);
        }
      }
    } catch (err) {
      this.events.emit('ndrFailed', {
        queueId: envelope.queueId,
        data: { error: (err as Error).message, code: (err as NodeJS.ErrnoException).code },
      });
      return undefined;
    }
    await append([{ t: 'reports-done' }]);
    return queued;
  }

  private async finish(
    folder: QueueFolder,
    queueId: string,
    outcome: Extract<ProcessOutcome, { kind: 'finished' }>,
  ): Promise<void> {
    if (outcome.to === 'archive') await this.spool.moveEntry(queueId, folder, 'archive');
    // every outcome is journaled durably already: should the removal not survive a crash, the
    // entry comes back with all its recipients done and is only finished again
    else await this.spool.removeEntry(folder, queueId, false);
    if (outcome.failed > 0) {
      this.events.emit('messageArchived', {
        queueId,
        detail: `${outcome.failed} recipient(s) failed, ${outcome.delivered} delivered; ${outcome.reports.length} report(s) queued.`,
        data: { failed: outcome.failed, delivered: outcome.delivered, reports: outcome.reports },
      });
    } else {
      this.events.emit('messageDelivered', {
        queueId,
        data: { delivered: outcome.delivered, reports: outcome.reports },
      });
    }
  }

  private async quarantine(folder: QueueFolder, queueId: string, reason: string): Promise<ProcessOutcome> {
    await this.spool.moveEntry(queueId, folder, 'bad');
    this.events.emit('messageQuarantined', { queueId, detail: reason, data: { reason, from: folder } });
    return { kind: 'quarantined', reason };
  }
}
