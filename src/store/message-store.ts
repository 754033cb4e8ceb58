/**
 * The message store of capture mode, under `<spool>/store/`: each captured message is one file in
 * `messages/` (written to `tmp/`, fsynced, renamed, its folder fsynced), with its envelope
 * recipients in a sidecar in `envelopes/` when it has more than one (see message-file.ts), and
 * indexed in SQLite (`index.sqlite`, see StoreIndex). A sidecar is durable before its message
 * file is renamed into `messages/`, so every file there is a complete capture. Captures that
 * arrive together share the folder fsyncs and one SQLite transaction. A capture is durable when `capture()` resolves, which is before the spool's
 * journal says "delivered"; a delivery repeated after a crash finds its recipients captured already
 * (by queue ID and address) and captures nothing twice. At open, files the index does not know are
 * indexed and rows whose file is gone are dropped; an index that cannot be opened is rebuilt.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { EventLog } from '../events/event-log.js';
import { DirectorySync } from '../spool/directory-sync.js';
import { recordOf, type CaptureRecord, type RecordResult } from './capture-record.js';
import {
  captureId,
  CAPTURE_ID,
  deliveryHeader,
  envelopeFile,
  isCaptureId,
  needsEnvelopeFile,
  queueIdOf,
  readMessageFile,
  readTraceHeader,
  writeFileDurably,
} from './message-file.js';
import type { MailFilter } from './mail-filter.js';
import { SCHEMA_VERSION, StoreIndex, type MessageRow, type Page } from './store-index.js';

export interface CaptureRequest {
  queueId: string;
  sender: string;
  /** Envelope recipients, distinct (compared case-insensitively). */
  recipients: readonly string[];
  /** The message as received (from the spool). */
  message: Buffer;
  /** When it was captured (default: now; an import keeps the original time). */
  capturedAt?: number;
  /**
   * The queue ID has never been captured (a message captured as it is received): the index and
   * the folder are not searched for earlier captures of it.
   */
  fresh?: boolean;
}

export type CaptureResult =
  | {
      ok: true;
      /** The capture holding each recipient (by address in lower case), this one or an earlier one. */
      captures: Map<string, { id: string; capturedAt: number }>;
      /** Set when this call stored a new message file. */
      stored?: { id: string; capturedAt: number };
    }
  | { ok: false; error: Error };

export interface RetentionLimits {
  /** Most messages kept (0: no limit). */
  messages: number;
  /** Oldest kept, in ms (undefined: no limit). */
  ageMs: number | undefined;
  /** Most bytes of message files kept (undefined: no limit). */
  bytes: number | undefined;
}

export interface StoreOptions {
  events?: EventLog | undefined;
  retention?: RetentionLimits | undefined;
  /** How often retention runs in the background (default 30 s). */
  retentionIntervalMs?: number;
  /** Tags of a new message, from its parsed headers. */
  tagsOf?: (headers: Map<string, unknown>, recipients: readonly string[]) => string[];
  /** Repair the index against the files at open (default true; tools beside a running relay say false). */
  repair?: boolean;
}

export interface RepairReport {
  indexed: number;
  dropped: number;
  rebuilt: boolean;
  reason: string | undefined;
  /** Files that could not be indexed (not a message file of the store), with the reason. */
  unreadable?: { id: string; reason: string }[];
  /** Indexed messages whose full-text rows were lost (in memory at a crash) and were written again. */
  textRestored?: number;
}

const INDEX_FILE = 'index.sqlite';
const REBUILD_BATCH = 500;
/** Names of a folder read and looked up in the index at a time by the repair. */
const REPAIR_BATCH = 1000;
/** Messages removed by retention at a time (one transaction; a stop waits for at most one). */
const PRUNE_BATCH = 500;
/**
 * Unmerged recipient rows that start a merge even while captures go on. `to=` scans the rows not
 * merged yet: a page took 4 ms over 50,000 of them, 25 ms over 250,000 (bench/mailbox-unmerged.mjs).
 */
const MERGE_AT = 250_000;
/** Fewer rows are merged once no capture came for this long: a merge competes with captures for the thread. */
const MERGE_QUIET_MS = 300;
/** ...or once rows have waited this long, so that a steady trickle of captures is merged too. */
const MERGE_LONGEST_WAIT_MS = 10_000;
/** Full-text rows waiting in memory that are written at once, however busy: messages, characters. */
const TEXT_AT_MESSAGES = 2_000;
const TEXT_AT_CHARS = 4_000_000;
/** Full-text rows written per transaction by the background work. */
const TEXT_BATCH = 2_000;

interface Pending {
  record: CaptureRecord;
  /** The message file in tmp/, renamed into messages/ by the flush. */
  temporary: string;
  /** Whether the capture has a sidecar in envelopes/ (which the flush makes durable first). */
  sidecar: boolean;
  resolve: () => void;
  reject: (err: Error) => void;
}

export class MessageStore {
  private queue: Pending[] = [];
  private flushing: Promise<void> | undefined;
  private scheduled = false;
  private readonly listeners = new Set<(records: CaptureRecord[]) => void>();
  private readonly deleteListeners = new Set<(ids: string[]) => void>();
  private readonly folderSync: DirectorySync;
  private readonly envelopeSync: DirectorySync;
  private retentionTimer: NodeJS.Timeout | undefined;
  /** Recipient rows not yet in the index's mailbox_index, and the background index work waiting to run. */
  private unmerged = 0;
  private indexTimer: NodeJS.Timeout | undefined;
  /** When the last batch of captures was committed, and since when rows have waited for a merge. */
  private lastCaptureAt = 0;
  private waitingSince = 0;
  private pruning: Promise<number> | undefined;
  private pruneAgain: Promise<number> | undefined;
  private closed = false;

  private constructor(
    readonly dir: string,
    readonly index: StoreIndex,
    private readonly options: StoreOptions,
  ) {
    this.folderSync = new DirectorySync(this.messagesDir);
    this.envelopeSync = new DirectorySync(this.envelopesDir);
  }

  get messagesDir(): string {
    return path.join(this.dir, 'messages');
  }

  get envelopesDir(): string {
    return path.join(this.dir, 'envelopes');
  }

  fileOf(id: string): string {
    return path.join(this.messagesDir, `${id}.eml`);
  }

  /** The envelope sidecar of a capture with several recipients. */
  envelopeOf(id: string): string {
    return path.join(this.envelopesDir, `${id}.rcpt`);
  }

  /**
   * Opens the store in `dir` (creating it), repairs the index against the files and starts
   * retention. `repaired` says what the repair did, when it did anything.
   */
  static async open(dir: string, options: StoreOptions = {}): Promise<MessageStore> {
    for (const sub of ['messages', 'envelopes', 'tmp'])
      await fsp.mkdir(path.join(dir, sub), { recursive: true, mode: 0o700 });
    // leftovers of captures a crash interrupted (not while a relay may be writing them)
    if (options.repair !== false)
      for (const name of await fsp.readdir(path.join(dir, 'tmp')))
        await fsp.rm(path.join(dir, 'tmp', name), { force: true });
    let index: StoreIndex;
    let reason: string | undefined;
    try {
      index = new StoreIndex(path.join(dir, INDEX_FILE));
      const version = index.meta('schema');
      if (version !== undefined && version !== String(SCHEMA_VERSION)) {
        index.close();
        throw new Error(`the index has schema version ${version}, this version uses ${SCHEMA_VERSION}`);
      }
      if (index.meta('complete') === 'building') {
        index.close();
        throw new Error('an earlier rebuild of the index did not finish');
      }
    } catch (err) {
      reason = (err as Error).message;
      index = moveAsideAndCreate(dir);
    }
    const store = new MessageStore(dir, index, options);
    if (options.repair === false && reason === undefined) return store;
    const report = await store.repair(reason !== undefined);
    if (reason !== undefined) report.reason = reason;
    if (
      report.indexed + report.dropped > 0 ||
      report.rebuilt ||
      report.unreadable?.length ||
      report.textRestored
    ) {
      options.events?.emit('storeRepaired', {
        detail: `${report.indexed} file(s) indexed, ${report.dropped} row(s) dropped${report.rebuilt ? ', index rebuilt' : ''}${report.unreadable?.length ? `, ${report.unreadable.length} file(s) not readable` : ''}${report.textRestored ? `, full text of ${report.textRestored} written again` : ''}${report.reason ? ` (${report.reason})` : ''}.`,
        data: { ...report },
      });
    }
    store.unmerged = store.index.unmergedRecipients();
    store.scheduleIndexWork();
    store.startRetention();
    return store;
  }

  /**
   * Makes the index agree with the files: indexes the files it lacks, drops the rows whose file is
   * gone. `rebuild` marks the index as being built until it is done, so a crash during a rebuild
   * leads to another one.
   */
  async repair(rebuild = false): Promise<RepairReport> {
    if (rebuild) this.index.setMeta('complete', 'building');
    // first, the messages indexed before a crash whose full-text rows were still in memory: the
    // rows any later insert writes move the index's text mark past them
    const withoutText = this.index.withoutText();
    let textRestored = 0;
    for (let i = 0; i < withoutText.length; i += REBUILD_BATCH) {
      for (const { seq, id } of withoutText.slice(i, i + REBUILD_BATCH)) {
        const result = await this.recordFromFile(id);
        if (!result?.ok) continue;
        this.index.queueText(seq, result.record);
        textRestored++;
      }
      this.index.indexText();
    }
    // The names in messages/ are streamed and looked up in the index a batch at a time; only the
    // files the index lacks (none, usually) are kept. Holding every name (100,000 strings, sorted)
    // for a walk beside the index grew V8's heap by about 30 MB that it kept after the start.
    const missing: string[] = [];
    let matched = 0;
    await eachBatch(this.messagesDir, REPAIR_BATCH, (names) => {
      const ids: string[] = [];
      for (const name of names) {
        const id = name.slice(0, -4);
        if (name.endsWith('.eml') && isCaptureId(id)) ids.push(id);
      }
      const absent = this.index.notIndexed(ids);
      matched += ids.length - absent.length;
      missing.push(...absent);
    });
    // rows whose file is gone: only looked for when fewer files than rows were found
    const gone: string[] = [];
    if (matched < this.index.count())
      for (const id of this.index.idsInOrder()) if (!fs.existsSync(this.fileOf(id))) gone.push(id);
    if (gone.length > 0) this.index.delete(gone);
    // sidecars whose message file never made it into messages/ (or was deleted by hand): a sidecar
    // of an indexed message has its file (the rows of files that are gone were just dropped)
    await eachBatch(this.envelopesDir, REPAIR_BATCH, async (names) => {
      const ids = names.filter((n) => n.endsWith('.rcpt')).map((n) => n.slice(0, -5));
      const orphans = names.filter((n) => !n.endsWith('.rcpt'));
      for (const id of this.index.notIndexed(ids))
        if (!fs.existsSync(this.fileOf(id))) orphans.push(`${id}.rcpt`);
      for (const name of orphans) await fsp.rm(path.join(this.envelopesDir, name), { force: true });
    });
    missing.sort(compareIds);
    let indexed = 0;
    const unreadable: { id: string; reason: string }[] = [];
    for (let i = 0; i < missing.length; i += REBUILD_BATCH) {
      const records: CaptureRecord[] = [];
      for (const id of missing.slice(i, i + REBUILD_BATCH)) {
        const result = await this.recordFromFile(id);
        if (!result) continue;
        if (result.ok) records.push(result.record);
        else unreadable.push({ id, reason: result.reason });
      }
      this.index.insert(records);
      this.index.indexText();
      indexed += records.length;
    }
    if (this.index.meta('schema') !== String(SCHEMA_VERSION))
      this.index.setMeta('schema', String(SCHEMA_VERSION));
    if (this.index.meta('complete') !== 'yes') this.index.setMeta('complete', 'yes');
    return {
      indexed,
      dropped: gone.length,
      rebuilt: rebuild,
      reason: undefined,
      ...(unreadable.length > 0 ? { unreadable } : {}),
      ...(textRestored > 0 ? { textRestored } : {}),
    };
  }

  /**
   * The index record of a stored message, read from its file and sidecar (the capture time is the
   * file's modification time); undefined when the file is gone.
   */
  private async recordFromFile(id: string): Promise<RecordResult | undefined> {
    const file = this.fileOf(id);
    const bytes = readMessageFile(file);
    if (!bytes) return undefined;
    const mtime = fs.statSync(file, { throwIfNoEntry: false })?.mtimeMs ?? Date.now();
    const sidecar = readMessageFile(this.envelopeOf(id));
    return recordOf(id, queueIdOf(id), bytes, Math.floor(mtime), this.options.tagsOf, sidecar);
  }

  /** Drops the whole index and builds it again from the message files. */
  async reindex(): Promise<RepairReport> {
    this.index.clear();
    return this.repair(true);
  }

  /** Called with the records of each committed batch (for waits and live views). */
  onCaptured(listener: (records: CaptureRecord[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  onDeleted(listener: (ids: string[]) => void): () => void {
    this.deleteListeners.add(listener);
    return () => this.deleteListeners.delete(listener);
  }

  /** Stores `req.message` for the recipients not captured yet; durable when it resolves. */
  async capture(req: CaptureRequest): Promise<CaptureResult> {
    const captures = new Map<string, { id: string; capturedAt: number }>();
    let earlier: Map<string, string>;
    let taken: Set<string>;
    try {
      taken = req.fresh ? new Set() : new Set(this.index.capturesOf(req.queueId));
      earlier = taken.size === 0 ? new Map() : this.index.capturedRecipients(req.queueId);
    } catch (err) {
      return { ok: false, error: err as Error };
    }
    const fresh: string[] = [];
    const times = new Map<string, number>();
    for (const r of req.recipients) {
      const key = r.toLowerCase();
      const id = earlier.get(key);
      if (!id) {
        fresh.push(r);
        continue;
      }
      let at = times.get(id);
      if (at === undefined) times.set(id, (at = this.index.get(id)?.capturedAt ?? Date.now()));
      captures.set(key, { id, capturedAt: at });
    }
    if (fresh.length === 0) return { ok: true, captures };

    let n = 1;
    if (!req.fresh)
      while (taken.has(captureId(req.queueId, n)) || fs.existsSync(this.fileOf(captureId(req.queueId, n))))
        n++;
    const id = captureId(req.queueId, n);
    const file = this.fileOf(id);
    const temporary = path.join(this.dir, 'tmp', `${id}.${process.pid}`);
    const sidecar = needsEnvelopeFile(fresh) ? envelopeFile(fresh) : undefined;
    const sidecarTemporary = `${temporary}.rcpt`;
    const head = Buffer.from(deliveryHeader(req.sender, fresh), 'utf8');
    const capturedAt = req.capturedAt ?? Date.now();
    try {
      const [, , parsed] = await Promise.all([
        writeFileDurably(temporary, [head, req.message]),
        sidecar &&
          writeFileDurably(sidecarTemporary, [sidecar]).then(() =>
            fsp.rename(sidecarTemporary, this.envelopeOf(id)),
          ),
        recordOf(
          id,
          req.queueId,
          Buffer.concat([head, req.message]),
          capturedAt,
          this.options.tagsOf,
          sidecar,
        ),
      ]);
      if (!parsed.ok) throw new Error(parsed.reason);
      await this.commit(parsed.record, temporary, sidecar !== undefined);
    } catch (err) {
      // the clean-up may fail the same way (a folder that is not one): the outcome stays a value
      await Promise.all(
        [temporary, sidecarTemporary, file, this.envelopeOf(id)].map((f) =>
          fsp.rm(f, { force: true }).catch(() => undefined),
        ),
      );
      return { ok: false, error: err as Error };
    }
    for (const r of fresh) captures.set(r.toLowerCase(), { id, capturedAt });
    return { ok: true, captures, stored: { id, capturedAt } };
  }

  /** Waits until the record's file is durable in its folder and the record is in a committed transaction. */
  private commit(record: CaptureRecord, temporary: string, sidecar: boolean): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ record, temporary, sidecar, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.flushing || this.scheduled || this.queue.length === 0) return;
    this.scheduled = true;
    // captures that finish in the same turn of the event loop share the flush
    setImmediate(() => {
      this.scheduled = false;
      this.flushing = this.flush().finally(() => {
        this.flushing = undefined;
        this.schedule();
      });
    });
  }

  private async flush(): Promise<void> {
    const batch = this.queue.splice(0);
    try {
      // the sidecars first: a message file in messages/ always has its envelope
      if (batch.some((b) => b.sidecar)) await this.envelopeSync.sync();
      // in libuv's pool, not on this thread: a rename waits for the folder's lock, which an fsync
      // of the folder holds for as long as the disk takes
      await Promise.all(batch.map((b) => fsp.rename(b.temporary, this.fileOf(b.record.id))));
      await this.folderSync.sync();
      this.index.insert(batch.map((b) => b.record));
    } catch (err) {
      for (const b of batch) b.reject(err as Error);
      return;
    }
    for (const b of batch) b.resolve();
    const records = batch.map((b) => b.record);
    for (const r of records)
      this.options.events?.emit('mailCaptured', {
        queueId: r.queueId,
        data: { id: r.id, recipients: r.recipients.length, size: r.size, report: r.report },
      });
    for (const l of this.listeners) l(records);
    for (const r of records) this.unmerged += r.recipients.length;
    this.lastCaptureAt = Date.now();
    this.scheduleIndexWork();
    if (this.options.retention?.messages && this.index.count() > this.options.retention.messages)
      void this.prune();
  }

  /**
   * The index's background work, off the capture path: the full-text rows waiting in memory and
   * the recipient rows not merged into mailbox_index yet. It runs once no capture came for
   * MERGE_QUIET_MS, or rows have waited MERGE_LONGEST_WAIT_MS, or at once when much waits
   * (`mustIndexNow`); queries search unmerged rows directly and write waiting text first. A burst
   * of captures is not slowed by work that can wait for its end. Each step is one transaction; the
   * loop yields between them.
   */
  private scheduleIndexWork(): void {
    if (this.closed) return;
    const text = this.index.textPending();
    if (this.unmerged === 0 && text.messages === 0) return;
    if (this.waitingSince === 0) this.waitingSince = Date.now();
    if (this.mustIndexNow()) {
      clearTimeout(this.indexTimer);
      this.indexTimer = setTimeout(() => this.indexNow(), 0);
    } else if (!this.indexTimer) this.indexTimer = setTimeout(() => this.indexWhenQuiet(), MERGE_QUIET_MS);
    this.indexTimer.unref();
  }

  /** Whether so much waits (unmerged rows, full-text rows in memory) that it is written even during a burst. */
  private mustIndexNow(): boolean {
    const text = this.index.textPending();
    return this.unmerged >= MERGE_AT || text.messages >= TEXT_AT_MESSAGES || text.chars >= TEXT_AT_CHARS;
  }

  private indexWhenQuiet(): void {
    this.indexTimer = undefined;
    if (this.closed) return;
    const now = Date.now();
    const quietFor = now - this.lastCaptureAt;
    if (
      quietFor < MERGE_QUIET_MS &&
      now - this.waitingSince < MERGE_LONGEST_WAIT_MS &&
      !this.mustIndexNow()
    ) {
      this.indexTimer = setTimeout(() => this.indexWhenQuiet(), MERGE_QUIET_MS - quietFor);
      this.indexTimer.unref();
      return;
    }
    this.indexNow();
  }

  private indexNow(): void {
    this.indexTimer = undefined;
    if (this.closed) return;
    try {
      // the full-text rows first (they live in memory), then one transaction of recipient rows
      if (this.index.indexText(TEXT_BATCH) === 0) {
        if (this.index.mergeMailboxes() > 0) this.unmerged = this.index.unmergedRecipients();
        else this.unmerged = 0;
      }
    } catch {
      // a busy or full disk: the rows stay searchable unmerged, the text in memory; try again later
      this.scheduleIndexWork();
      return;
    }
    if (this.unmerged === 0 && this.index.textPending().messages === 0) {
      this.waitingSince = 0;
      return;
    }
    // the next transaction in the next turn of the loop, unless captures came meanwhile
    this.indexTimer = setTimeout(() => this.indexWhenQuiet(), 0);
    this.indexTimer.unref();
  }

  list(filter: MailFilter, limit: number, cursor?: number): Page {
    return this.index.list(filter, limit, cursor);
  }

  get(id: string): MessageRow | undefined {
    return isCaptureId(id) ? this.index.get(id) : undefined;
  }

  /**
   * The message as received: the file without the trace lines the store put before it (read with
   * the capture's envelope sidecar, so a message's own `X-Original-To:`/`Delivered-To:` lines stay
   * its own); undefined when the message is not (or no longer) there.
   */
  readMessage(id: string): Buffer | undefined {
    const file = this.read(id);
    return file && this.messageIn(id, file);
  }

  /** The message as received in `file`, the bytes of capture `id` read already (see readMessage). */
  messageIn(id: string, file: Buffer): Buffer {
    const trace = readTraceHeader(file, readMessageFile(this.envelopeOf(id)));
    return trace ? file.subarray(trace.messageStart) : file;
  }

  /** The file's bytes, or undefined when the message is not (or no longer) there. */
  read(id: string): Buffer | undefined {
    return isCaptureId(id) ? readMessageFile(this.fileOf(id)) : undefined;
  }

  /**
   * Deletes messages: each file first, then the index rows in one transaction (a crash in between
   * leaves rows without files, which the next open drops). Returns the IDs deleted. When `stop`
   * says so, no further file is removed (the rows of those removed already are deleted).
   */
  private async remove(ids: readonly string[], stop?: () => boolean): Promise<string[]> {
    const removed: string[] = [];
    for (const id of ids) {
      if (!isCaptureId(id)) continue;
      if (stop?.()) break; // the files removed so far lose their rows below
      const several = (this.index.get(id)?.recipientCount ?? 2) > 1;
      await fsp.rm(this.fileOf(id), { force: true });
      if (several) await fsp.rm(this.envelopeOf(id), { force: true });
      removed.push(id);
    }
    if (removed.length > 0) await this.folderSync.sync();
    const gone = this.index.delete(removed);
    if (gone.length > 0) for (const l of this.deleteListeners) l(gone);
    return gone;
  }

  /** Deletes these messages (event 1131 when any was there); returns the IDs deleted. */
  async delete(ids: readonly string[], all = false): Promise<string[]> {
    const gone = await this.remove(ids);
    if (gone.length > 0)
      this.options.events?.emit('mailDeleted', {
        detail: `${gone.length} captured message(s) deleted.`,
        data: { deleted: gone.length, ids: gone.slice(0, 100), all },
      });
    return gone;
  }

  /** Deletes the messages matching `filter` (all of them for an empty filter). */
  async deleteMatching(filter: MailFilter): Promise<string[]> {
    return this.delete(this.index.ids(filter), Object.keys(filter).length === 0);
  }

  /** Applies the retention limits now; returns how many messages were removed. */
  prune(now = Date.now()): Promise<number> {
    if (this.pruning) {
      // the run in progress chose its victims before this call: one more run follows it, shared
      // by every caller until it starts (it resolves with what it removed)
      return (this.pruneAgain ??= this.pruning.then(() => {
        this.pruneAgain = undefined;
        return this.prune(now);
      }));
    }
    return (this.pruning = this.pruneNow(now).finally(() => {
      this.pruning = undefined;
    }));
  }

  /**
   * Removes the oldest messages while a limit is exceeded, PRUNE_BATCH at a time (files, then their
   * rows in one transaction), yielding between batches: captures go on meanwhile, and a stop
   * (close) is answered within a batch. A start over 100,000 messages with the default limit prunes
   * 90,000. One event 1132 for the whole run (also when a stop cut it short).
   */
  private async pruneNow(now: number): Promise<number> {
    const limits = this.options.retention;
    if (!limits || this.closed) return 0;
    if (limits.messages <= 0 && limits.ageMs === undefined && limits.bytes === undefined) return 0;
    // the byte total is summed once (a scan of every row) and kept up to date with what is removed
    let size = limits.bytes !== undefined ? this.index.totals().bytes : 0;
    let pruned = 0;
    const ids: string[] = [];
    while (!this.closed) {
      let excess = limits.messages > 0 ? this.index.count() - limits.messages : 0;
      const victims: { id: string; size: number }[] = [];
      for (const o of this.index.oldest(PRUNE_BATCH)) {
        const tooMany = excess > 0;
        const tooOld = limits.ageMs !== undefined && o.capturedAt < now - limits.ageMs;
        const tooBig = limits.bytes !== undefined && size > limits.bytes;
        if (!tooMany && !tooOld && !tooBig) break;
        victims.push(o);
        excess--;
        size -= o.size;
      }
      if (victims.length === 0) break;
      const gone = await this.remove(
        victims.map((v) => v.id),
        () => this.closed,
      );
      if (gone.length === 0) break; // nothing removable (or a stop before the first file)
      pruned += gone.length;
      if (ids.length < 100) ids.push(...gone.slice(0, 100 - ids.length));
      // a message that was not removed (a stop) still counts towards the byte limit
      if (gone.length < victims.length) {
        const removed = new Set(gone);
        for (const v of victims) if (!removed.has(v.id)) size += v.size;
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    if (pruned === 0) return 0;
    this.options.events?.emit('mailPruned', {
      detail: `${pruned} captured message(s) removed by the retention limits.`,
      data: {
        pruned,
        ids,
        limits: {
          retainMessages: limits.messages,
          retainAge: limits.ageMs ?? null,
          retainBytes: limits.bytes ?? null,
        },
      },
    });
    return pruned;
  }

  private startRetention(): void {
    if (!this.options.retention) return;
    void this.prune();
    this.retentionTimer = setInterval(() => void this.prune(), this.options.retentionIntervalMs ?? 30_000);
    this.retentionTimer.unref();
  }

  /** Waits for captures in flight, then closes the index. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.retentionTimer) clearInterval(this.retentionTimer);
    clearTimeout(this.indexTimer);
    while (this.flushing || this.scheduled || this.queue.length > 0) {
      if (this.flushing) await this.flushing;
      else await new Promise((resolve) => setImmediate(resolve));
    }
    await this.pruning;
    await this.pruneAgain;
    await Promise.all([this.folderSync.close(), this.envelopeSync.close()]);
    this.index.close();
  }
}

/**
 * Calls `fn` with the names in `dir`, `size` at a time (a streamed listing: the folder's names
 * are never all in memory at once). Deleting names already passed to `fn` is safe.
 */
async function eachBatch(
  dir: string,
  size: number,
  fn: (names: string[]) => void | Promise<void>,
): Promise<void> {
  const listing = await fsp.opendir(dir, { bufferSize: size });
  let names: string[] = [];
  for await (const entry of listing) {
    names.push(entry.name);
    if (names.length === size) {
      await fn(names);
      names = [];
    }
  }
  if (names.length > 0) await fn(names);
}

/** Capture IDs in capture order: by queue ID, then by n. */
function compareIds(a: string, b: string): number {
  const ma = CAPTURE_ID.exec(a)!;
  const mb = CAPTURE_ID.exec(b)!;
  return ma[1]! < mb[1]! ? -1 : ma[1]! > mb[1]! ? 1 : Number(ma[2]) - Number(mb[2]);
}

/** An index that cannot be used is kept beside (for a post-mortem) and a new one is made. */
function moveAsideAndCreate(dir: string): StoreIndex {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  for (const suffix of ['', '-wal', '-shm']) {
    const from = path.join(dir, INDEX_FILE + suffix);
    if (fs.existsSync(from)) fs.renameSync(from, path.join(dir, `${INDEX_FILE}.broken-${stamp}${suffix}`));
  }
  return new StoreIndex(path.join(dir, INDEX_FILE));
}
