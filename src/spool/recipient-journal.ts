/**
 * The delivery journal of one spool entry: `<folder>/<queue-id>.journal`, an append-only file of
 * JSON lines next to the (immutable) entry. It records what delivery did — attempts, each
 * recipient's final outcome, temporary failures, the next retry, reports queued — so a restart
 * never delivers again to a recipient already done, and the I/O for n recipients grows linearly
 * in n (one line per outcome; nothing is ever rewritten). A torn last line (crash during an
 * append) is ignored.
 */
import fs from 'node:fs';
import { promisify } from 'node:util';

export type FinalAction = 'delivered' | 'relayed' | 'failed';

export interface RecipientResult {
  /** Index into the envelope's recipients (the first of a run: see `n`). */
  i: number;
  /**
   * In a journal line: the outcome holds for the `n` recipients from `i` on (a run of recipients
   * with the same outcome, e.g. the 100,000 of one capture, is one line). Absent: one recipient.
   */
  n?: number;
  status: string;
  diagnostic?: string;
  remoteMta?: string;
  at: string;
}

export type JournalRecord =
  | { t: 'attempt'; n: number; at: string; alone?: boolean }
  | { t: 'attempt-end'; at: string }
  /** A lone attempt had delivered (not yet durably) `linked` recipients in all; written without fsync. */
  | { t: 'progress'; linked: number }
  /** A lone attempt had read its entry and was still running then; written without fsync. */
  | { t: 'alive'; at: string }
  /** A lone attempt ended in a thrown error: it counts as a failure whatever marks it left. */
  | { t: 'failed'; at: string; error: string }
  | ({ t: 'done'; action: FinalAction } & RecipientResult)
  | ({ t: 'deferred' } & RecipientResult)
  | { t: 'retry'; at: string }
  | { t: 'report'; queueId: string; kind: 'failure' | 'success' | 'delay' }
  | { t: 'reports-done' }
  | { t: 'hold'; at: string }
  | { t: 'release'; at: string };

export interface JournalState {
  /** Attempts started. */
  attempts: number;
  /** Attempts in a row that started and never ended (the process died or processing threw). */
  unfinishedAttempts: number;
  /**
   * Attempts in a row that ran with no other message being processed (poison-message isolation)
   * and ended in a crash or a thrown error before recording any recipient's outcome. Only these
   * count towards quarantine; an attempt that ends resets the count.
   */
  failedAlone: number;
  /** The last attempt, while it has not ended: whether it ran alone and whether it recorded progress. */
  openAttempt: { alone: boolean; progressed: boolean; alive: boolean; threw?: boolean } | undefined;
  /**
   * Lone attempts in a row that were cut short while running (an `alive` mark) but without
   * progress, and were not counted as failures: at most MAX_EXCUSED_IN_ROW are.
   */
  excusedInRow: number;
  /** The highest `progress` mark so far: a mark counts as progress only when it goes past it. */
  progressHigh: number;
  /** Recipients with a final outcome, by index. */
  done: Map<number, RecipientResult & { action: FinalAction }>;
  /** The latest temporary failure of recipients still pending, by index. */
  deferred: Map<number, RecipientResult>;
  /** When the next attempt is due, if a retry was scheduled. */
  retryAt: Date | undefined;
  /** Reports whose queue IDs were reserved (and maybe committed), in order. */
  reports: { queueId: string; kind: 'failure' | 'success' | 'delay' }[];
  reportsDone: boolean;
  held: boolean;
}

export function emptyJournal(): JournalState {
  return {
    attempts: 0,
    unfinishedAttempts: 0,
    failedAlone: 0,
    openAttempt: undefined,
    progressHigh: 0,
    excusedInRow: 0,
    done: new Map(),
    deferred: new Map(),
    retryAt: undefined,
    reports: [],
    reportsDone: false,
    held: false,
  };
}

/**
 * How many lone attempts in a row may be cut short while running (read, then an `alive` mark, but no
 * progress) without counting as a failure: a crash loop from outside kills whatever runs, a message
 * that kills the relay itself while running still ends in bad/ after this many more attempts.
 */
export const MAX_EXCUSED_IN_ROW = 8;

/** Whether the open attempt, should it never end, counts as a failure of the message alone. */
export function lonelyFailure(state: JournalState): boolean {
  const open = state.openAttempt;
  if (!open?.alone) return false;
  if (open.threw) return true; // an error thrown while it was processed alone: its own doing
  if (open.progressed) return false;
  return !open.alive || state.excusedInRow >= MAX_EXCUSED_IN_ROW;
}

/**
 * The open attempt got further than ever before: the message can be processed, so its count of
 * failed (and excused) lone attempts starts again. Progress is bounded by the recipients, so a
 * message that crashes the relay each time still reaches the limit.
 */
function progressed(state: JournalState): void {
  if (!state.openAttempt) return;
  state.openAttempt.progressed = true;
  state.failedAlone = 0;
  state.excusedInRow = 0;
}

/** Applies one record to a state (also used to keep a live state in step with appends). */
export function applyRecord(state: JournalState, r: JournalRecord): void {
  switch (r.t) {
    case 'attempt':
      state.attempts = Math.max(state.attempts, r.n);
      state.unfinishedAttempts++;
      // the attempt before this one never ended: blamed on the message only if it ran alone and
      // recorded nothing (a kill from outside in the middle of a long delivery shows progress)
      if (state.openAttempt && lonelyFailure(state)) state.failedAlone++;
      else if (state.openAttempt?.alone && !state.openAttempt.progressed) state.excusedInRow++;
      state.openAttempt = { alone: r.alone === true, progressed: false, alive: false };
      break;
    case 'progress':
      // only a mark past every earlier one is progress: a message can be excused a kill at most
      // once per batch of its recipients, so a poison message still ends in bad/
      if (r.linked > state.progressHigh) {
        state.progressHigh = r.linked;
        progressed(state);
      }
      break;
    case 'alive':
      if (state.openAttempt) state.openAttempt.alive = true;
      break;
    case 'failed':
      if (state.openAttempt) state.openAttempt.threw = true;
      break;
    case 'attempt-end':
      state.unfinishedAttempts = 0;
      state.failedAlone = 0;
      state.excusedInRow = 0;
      state.openAttempt = undefined;
      break;
    case 'done': {
      const { t: _t, n = 1, ...result } = r;
      // one shared object for a run: 100,000 recipients of one capture are one line and one object
      for (let k = 0; k < n; k++) {
        state.done.set(r.i + k, result);
        state.deferred.delete(r.i + k);
      }
      progressed(state);
      break;
    }
    case 'deferred': {
      const { t: _t, n = 1, ...result } = r;
      for (let k = 0; k < n; k++) state.deferred.set(r.i + k, result);
      progressed(state);
      break;
    }
    case 'retry':
      state.retryAt = new Date(r.at);
      break;
    case 'report':
      if (!state.reports.some((x) => x.queueId === r.queueId))
        state.reports.push({ queueId: r.queueId, kind: r.kind });
      break;
    case 'reports-done':
      state.reportsDone = true;
      break;
    case 'hold':
      state.held = true;
      break;
    case 'release':
      state.held = false;
      break;
  }
}

/**
 * Outcome records of consecutive recipients with the same outcome (kind, action, status,
 * diagnostic, remote MTA, time) folded into runs (`n`): the journal of one capture to 100,000
 * recipients is one line instead of 100,000 (12 MB of JSON written and fdatasynced, and as many
 * objects). Records in any other order stay as they are.
 */
export function foldRuns(records: JournalRecord[]): JournalRecord[] {
  const out: JournalRecord[] = [];
  let run: (JournalRecord & RecipientResult) | undefined;
  for (const r of records) {
    if (r.t !== 'done' && r.t !== 'deferred') {
      out.push(r);
      run = undefined;
      continue;
    }
    if (
      run &&
      run.t === r.t &&
      r.i === run.i + (run.n ?? 1) &&
      r.status === run.status &&
      r.diagnostic === run.diagnostic &&
      r.remoteMta === run.remoteMta &&
      r.at === run.at &&
      (r.t !== 'done' || (run.t === 'done' && r.action === run.action))
    ) {
      run.n = (run.n ?? 1) + (r.n ?? 1);
      continue;
    }
    run = { ...r };
    out.push(run);
  }
  return out;
}

/** Rebuilds the state from a journal's text. */
export function replayJournal(text: string): JournalState {
  const state = emptyJournal();
  for (const line of text.split('\n')) {
    if (!line) continue;
    let record: JournalRecord;
    try {
      record = JSON.parse(line) as JournalRecord;
    } catch {
      continue; // a torn last line
    }
    applyRecord(state, record);
  }
  return state;
}

const open = promisify(fs.open);
const fstat = promisify(fs.fstat);
const read = promisify(fs.read);
const write = promisify(fs.write);
const fdatasync = promisify(fs.fdatasync);
const close = promisify(fs.close);

/** Appends records durably (write + fdatasync) to one journal. */
export class JournalWriter {
  private constructor(
    private fd: number | undefined,
    private readonly path: string,
    /** The file ends in a torn line (a crash during an append): start the next record on a new line. */
    private tornTail: boolean,
    /** What the journal said when it was opened. */
    readonly state: JournalState,
  ) {}

  /** Opens (or creates) a journal for appending, with the state its records describe. */
  static async open(path: string): Promise<JournalWriter> {
    // never through a symbolic link, never a FIFO or a directory (the spool trusts nothing it reads)
    const { O_RDWR, O_APPEND, O_CREAT, O_NOFOLLOW, O_NONBLOCK } = fs.constants;
    const fd = await open(path, O_RDWR | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK, 0o600);
    try {
      const stats = await fstat(fd);
      if (!stats.isFile())
        throw Object.assign(new Error(`${path} is not a regular file`), { code: 'ENOTREG' });
      const { size } = stats;
      if (size === 0) return new JournalWriter(fd, path, false, emptyJournal());
      const text = Buffer.alloc(size);
      const { bytesRead } = await read(fd, text, 0, size, 0);
      const content = text.subarray(0, bytesRead);
      return new JournalWriter(
        fd,
        path,
        content[content.length - 1] !== 0x0a,
        replayJournal(content.toString('utf8')),
      );
    } catch (err) {
      await close(fd).catch(() => undefined);
      throw err;
    }
  }

  /** Appends records; with `durable` (the default) they are on disk when this resolves. */
  async append(records: JournalRecord[], durable = true): Promise<void> {
    if (records.length === 0) return;
    if (this.fd === undefined) throw new Error(`journal ${this.path} is closed`);
    const text = (this.tornTail ? '\n' : '') + records.map((r) => JSON.stringify(r)).join('\n') + '\n';
    await write(this.fd, text);
    this.tornTail = false;
    if (durable) await fdatasync(this.fd);
  }

  async close(): Promise<void> {
    const fd = this.fd;
    this.fd = undefined;
    if (fd !== undefined) await close(fd);
  }
}
