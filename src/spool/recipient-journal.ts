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
  /** Index into the envelope's recipients. */
  i: number;
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
  openAttempt: { alone: boolean; progressed: boolean } | undefined;
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
    done: new Map(),
    deferred: new Map(),
    retryAt: undefined,
    reports: [],
    reportsDone: false,
    held: false,
  };
}

/** Applies one record to a state (also used to keep a live state in step with appends). */
export function applyRecord(state: JournalState, r: JournalRecord): void {
  switch (r.t) {
    case 'attempt':
      state.attempts = Math.max(state.attempts, r.n);
      state.unfinishedAttempts++;
      // the attempt before this one never ended: blamed on the message only if it ran alone and
      // recorded nothing (a kill from outside in the middle of a long delivery shows progress)
      if (state.openAttempt?.alone && !state.openAttempt.progressed) state.failedAlone++;
      state.openAttempt = { alone: r.alone === true, progressed: false };
      break;
    case 'progress':
      // only a mark past every earlier one is progress: a message can be excused a kill at most
      // once per batch of its recipients, so a poison message still ends in bad/
      if (r.linked > state.progressHigh) {
        state.progressHigh = r.linked;
        if (state.openAttempt) state.openAttempt.progressed = true;
      }
      break;
    case 'attempt-end':
      state.unfinishedAttempts = 0;
      state.failedAlone = 0;
      state.openAttempt = undefined;
      break;
    case 'done': {
      const { t: _t, ...result } = r;
      state.done.set(r.i, result);
      state.deferred.delete(r.i);
      if (state.openAttempt) state.openAttempt.progressed = true;
      break;
    }
    case 'deferred': {
      const { t: _t, ...result } = r;
      state.deferred.set(r.i, result);
      if (state.openAttempt) state.openAttempt.progressed = true;
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
