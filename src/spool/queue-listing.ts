/**
 * Listing, counting and filtering a queue folder at depth (100,000 entries and more), reading only
 * what a view needs:
 * - counting a folder, or filtering by age, reads the folder's names only (a queue ID starts with
 *   its arrival time in milliseconds);
 * - filtering by sender or recipient reads each entry's head (not its message); by held, each
 *   entry's journal; a listed item reads both.
 * Pages are keyed by a cursor (the last queue ID of the previous page): a page is found with one
 * pass over the folder that keeps only the page's IDs, so listing through a running relay holds a
 * page in memory, never the folder; every entry present throughout is listed exactly once.
 * File reads are synchronous and small (an entry's head, a journal): inside the relay they run
 * SUMMARY_CHUNK at a time between turns of the event loop.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { TRAILER_LENGTH, decodeEntryHead } from './entry-format.js';
import type { Envelope } from '../message/envelope.js';
import { queueItem, type QueueItem } from './queue-item.js';
import { emptyJournal, replayJournal, type JournalState } from './recipient-journal.js';
import { eachName } from './folder-names.js';
import { ENTRY_SUFFIX, JOURNAL_SUFFIX, type QueueFolder } from './queue-folders.js';
import type { Spool } from './spool.js';

export interface QueueFilter {
  /** Part of the sender address (case-insensitive); `<>` matches the null sender. */
  sender?: string;
  /** Part of any recipient address (case-insensitive). */
  recipient?: string;
  /** Arrived at least this many milliseconds ago. */
  olderThanMs?: number;
  /** Arrived at most this many milliseconds ago. */
  newerThanMs?: number;
  /** Only held entries (true) or only entries not held (false). */
  held?: boolean;
}

export interface QueuePage {
  items: QueueItem[];
  /** Entries in the folder, unfiltered (counted on the same pass). */
  total: number;
  /** Give it as `cursor` for the next page; absent on the last page. */
  nextCursor?: string;
}

/** Entries summarized between two turns of the event loop. */
const SUMMARY_CHUNK = 100;
/** IDs a filtered page examines at most before it returns what it has, with a cursor to go on. */
const PAGE_SCAN_BUDGET = 20_000;
/** The first read of an entry: the head of a message with a few hundred recipients. */
const HEAD_READ = 16 * 1024;

/** When an entry arrived, from its queue ID (milliseconds since the epoch). */
export function arrivalOf(queueId: string): number {
  return parseInt(queueId.slice(0, 11), 16);
}

function needsHead(filter: QueueFilter): boolean {
  return filter.sender !== undefined || filter.recipient !== undefined;
}

/** Whether a queue ID passes the filter's age bounds (no file is read). */
function ageMatches(queueId: string, filter: QueueFilter, now: number): boolean {
  if (filter.olderThanMs === undefined && filter.newerThanMs === undefined) return true;
  const age = now - arrivalOf(queueId);
  if (filter.olderThanMs !== undefined && age < filter.olderThanMs) return false;
  if (filter.newerThanMs !== undefined && age > filter.newerThanMs) return false;
  return true;
}

function envelopeMatches(envelope: Envelope, filter: QueueFilter): boolean {
  if (filter.sender !== undefined) {
    const want = filter.sender.toLowerCase();
    const sender = envelope.sender.toLowerCase();
    if (want === '<>' ? sender !== '' : !sender.includes(want)) return false;
  }
  if (filter.recipient !== undefined) {
    const want = filter.recipient.toLowerCase();
    if (!envelope.recipients.some((r) => r.address.toLowerCase().includes(want))) return false;
  }
  return true;
}

/**
 * The buffer every head read goes into (reads are synchronous, one at a time): nothing of it is
 * kept (the envelope is parsed out of it), so listing 100,000 entries allocates no 100,000 buffers.
 */
const headBuffer = Buffer.allocUnsafe(HEAD_READ);

/**
 * The envelope and message size of an entry, from its first bytes; undefined if it cannot be read.
 * Three system calls for an entry smaller than HEAD_READ (open, read, close: the read's length is
 * its size); a larger one is also measured (fstat), and a head longer than HEAD_READ read whole.
 */
function readHeadSync(file: string): { envelope: Envelope; messageBytes: number } | undefined {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return undefined;
  }
  try {
    let bytes = headBuffer;
    let read = fs.readSync(fd, bytes, 0, bytes.length, 0);
    const whole = read < bytes.length; // the read's length is the entry's size
    const size = whole ? read : fs.fstatSync(fd).size;
    const declared = whole
      ? null
      : /^IMSR\/\d+ (\d{1,12})\n/.exec(bytes.toString('latin1', 0, Math.min(read, 64)));
    if (declared) {
      const headLength = Number(declared[1]) + declared[0].length + 1;
      if (headLength > read && size > read) {
        bytes = Buffer.allocUnsafe(Math.min(size, headLength));
        read = fs.readSync(fd, bytes, 0, bytes.length, 0);
      }
    }
    const head = decodeEntryHead(bytes.subarray(0, read));
    if (!head.ok) return undefined;
    return {
      envelope: head.envelope,
      messageBytes: Math.max(0, size - head.messageOffset - TRAILER_LENGTH),
    };
  } catch {
    return undefined;
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * The journal of an entry; empty when there is none. Looked for first with a call that does not
 * throw: a read that fails with ENOENT costs forty times more (the error it builds), and most
 * entries of a deep queue have no journal.
 */
function readJournalSync(file: string): JournalState | undefined {
  try {
    if (!fs.statSync(file, { throwIfNoEntry: false })) return emptyJournal();
    return replayJournal(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? emptyJournal() : undefined;
  }
}

/**
 * The list item of one entry if it passes the filter (its age is checked by the caller); undefined
 * when it does not, or when it cannot be read (gone since the folder was listed, or damaged: the
 * delivery agent quarantines those).
 */
export function summarizeIfMatching(
  spool: Spool,
  folder: QueueFolder,
  queueId: string,
  filter: QueueFilter = {},
  /** false when the caller knows there is no journal (it has just listed the folder): none is looked for. */
  hasJournal = true,
): QueueItem | undefined {
  return summarizeFile(spool.folder(folder) + path.sep, folder, queueId, filter, hasJournal);
}

/** summarizeIfMatching with the folder's path (and a separator) given: one string joined an entry. */
function summarizeFile(
  folderPrefix: string,
  folder: QueueFolder,
  queueId: string,
  filter: QueueFilter,
  hasJournal: boolean,
): QueueItem | undefined {
  const readJournal = () =>
    hasJournal ? readJournalSync(folderPrefix + queueId + JOURNAL_SUFFIX) : emptyJournal();
  let journal: JournalState | undefined;
  if (filter.held !== undefined) {
    journal = readJournal();
    if ((journal?.held ?? false) !== filter.held) return undefined;
  }
  const head = readHeadSync(folderPrefix + queueId + ENTRY_SUFFIX);
  if (!head || !envelopeMatches(head.envelope, filter)) return undefined;
  journal ??= readJournal();
  return queueItem(queueId, folder, head, journal);
}

/** Whether the entry passes a filter that needs its head or journal (not its age). */
function passesReads(spool: Spool, folder: QueueFolder, queueId: string, filter: QueueFilter): boolean {
  if (filter.held !== undefined) {
    const journal = readJournalSync(spool.journalPath(folder, queueId));
    if ((journal?.held ?? false) !== filter.held) return false;
  }
  if (needsHead(filter)) {
    const head = readHeadSync(spool.entryPath(folder, queueId));
    if (!head || !envelopeMatches(head.envelope, filter)) return false;
  }
  return true;
}

/**
 * Whether an item already read passes the filter (for bad/, where quarantined pickup files are
 * listed with the entries). The recipient filter is not applied: an item carries no addresses.
 */
export function itemMatches(item: QueueItem, filter: QueueFilter, now = Date.now()): boolean {
  if (!ageMatches(item.queueId, filter, now)) return false;
  if (filter.held !== undefined && item.held !== filter.held) return false;
  if (filter.sender !== undefined) {
    const want = filter.sender.toLowerCase();
    if (want === '<>' ? item.sender !== '' : !item.sender.toLowerCase().includes(want)) return false;
  }
  return true;
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

/**
 * One pass over a folder's names without holding them: the `take` smallest queue IDs after
 * `after` that pass the age filter (sorted), whether there are more, the folder's entry count,
 * and which of the IDs after `after` have a journal (so that no journal is looked for in vain).
 */
async function idWindow(
  spool: Spool,
  folder: QueueFolder,
  after: string | undefined,
  take: number,
  filter: QueueFilter,
  now: number,
): Promise<{ ids: string[]; more: boolean; total: number; journals: Set<string> }> {
  const ids: string[] = [];
  const journals = new Set<string>();
  let more = false;
  let total = 0;
  await eachName(spool.folder(folder), (name) => {
    if (!name.endsWith(ENTRY_SUFFIX)) {
      if (name.endsWith(JOURNAL_SUFFIX)) {
        const id = name.slice(0, -JOURNAL_SUFFIX.length);
        if (after === undefined || id > after) journals.add(id);
      }
      return;
    }
    total++;
    const id = name.slice(0, -ENTRY_SUFFIX.length);
    if ((after !== undefined && id <= after) || !ageMatches(id, filter, now)) return;
    if (ids.length === take) {
      more = true;
      if (id >= ids[take - 1]!) return;
      ids.pop();
    }
    // binary insertion: the window stays sorted
    let lo = 0;
    let hi = ids.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (ids[mid]! < id) lo = mid + 1;
      else hi = mid;
    }
    ids.splice(lo, 0, id);
  });
  return { ids, more, total, journals };
}

/** A queue ID in 10 bytes: its 20 hex digits (`TTTTTTTTTTT-SSSSS-RRRR`), two a byte. */
const PACKED_ID_BYTES = 10;

/** IDs per buffer of a snapshot: 20 KB buffers, none large enough to be an allocation of its own. */
const IDS_PER_CHUNK = 2048;

/** The name of an entry whose name is a queue ID (the ones the spool writes). */
const ENTRY_NAME = /^[0-9A-F]{11}-[0-9A-F]{5}-[0-9A-F]{4}\.imsr$/;

/**
 * The queue IDs of one folder as they were read, 10 bytes each in buffers of IDS_PER_CHUNK, and
 * their sorted order as an index: 1.4 MB for 100,000, allocated as the names are read, nothing
 * copied and no string kept per name. The bytes of an ID compare as its text does.
 */
class PackedIds {
  private readonly chunks: Buffer[] = [];
  count = 0;
  /** Record numbers in queue ID order, once `sort()` has run. */
  private order = new Uint32Array(0);

  /** Adds an entry's name, if it is a queue ID's. */
  add(name: string): void {
    if (!ENTRY_NAME.test(name)) return;
    const at = this.count % IDS_PER_CHUNK;
    if (at === 0) this.chunks.push(Buffer.allocUnsafe(IDS_PER_CHUNK * PACKED_ID_BYTES));
    const hex = name.slice(0, 11) + name.slice(12, 17) + name.slice(18, 22);
    this.chunks[this.chunks.length - 1]!.write(hex, at * PACKED_ID_BYTES, PACKED_ID_BYTES, 'hex');
    this.count++;
  }

  sort(): void {
    const order = new Uint32Array(this.count);
    for (let i = 0; i < order.length; i++) order[i] = i;
    const chunks = this.chunks;
    order.sort((a, b) => {
      const ca = chunks[(a / IDS_PER_CHUNK) | 0]!;
      const cb = chunks[(b / IDS_PER_CHUNK) | 0]!;
      let i = (a % IDS_PER_CHUNK) * PACKED_ID_BYTES;
      let j = (b % IDS_PER_CHUNK) * PACKED_ID_BYTES;
      for (const end = i + PACKED_ID_BYTES; i < end; i++, j++) {
        const d = ca[i]! - cb[j]!;
        if (d !== 0) return d;
      }
      return 0;
    });
    this.order = order;
  }

  /** The `i`-th queue ID in sorted order. */
  at(i: number): string {
    const r = this.order[i]!;
    const at = (r % IDS_PER_CHUNK) * PACKED_ID_BYTES;
    const hex = this.chunks[(r / IDS_PER_CHUNK) | 0]!.toString('hex', at, at + PACKED_ID_BYTES).toUpperCase();
    return `${hex.slice(0, 11)}-${hex.slice(11, 16)}-${hex.slice(16)}`;
  }
}

/**
 * The sorted queue IDs of one folder (PackedIds), kept for a while so that a client paging
 * through a deep folder with a cursor costs one pass over the folder's names, not one per page.
 * Entries that arrive after it was taken are listed once it is renewed (after `maxAgeMs`);
 * entries gone since are skipped when their page is read. It is let go as soon as its last page
 * has been read: a listing to the end wants no more of it.
 */
export class ListingSnapshots {
  private snapshot: { folder: QueueFolder; ids: PackedIds; takenAt: number } | undefined;

  constructor(private readonly maxAgeMs = 30_000) {}

  async get(spool: Spool, folder: QueueFolder, now = Date.now()): Promise<PackedIds> {
    const s = this.snapshot;
    if (s && s.folder === folder && now - s.takenAt < this.maxAgeMs) return s.ids;
    this.snapshot = undefined; // the old one can go before the new one is read
    const ids = new PackedIds();
    await eachName(spool.folder(folder), (name) => ids.add(name));
    ids.sort();
    this.snapshot = { folder, ids, takenAt: now };
    return ids;
  }

  /** Lets the snapshot of `folder` go (its last page has been read). */
  release(folder: QueueFolder): void {
    if (this.snapshot?.folder === folder) this.snapshot = undefined;
  }
}

/**
 * The `take` IDs after `after` in a snapshot that pass the age filter. Which of them have a
 * journal is not known (journals come and go while the snapshot is kept): each is looked for.
 */
function snapshotWindow(
  snap: PackedIds,
  after: string | undefined,
  take: number,
  filter: QueueFilter,
  now: number,
): { ids: string[]; more: boolean; total: number; journals?: undefined } {
  let lo = 0;
  let hi = snap.count;
  while (after !== undefined && lo < hi) {
    const mid = (lo + hi) >> 1;
    if (snap.at(mid) <= after) lo = mid + 1;
    else hi = mid;
  }
  const ids: string[] = [];
  let i = lo;
  for (; i < snap.count && ids.length < take; i++) {
    const id = snap.at(i);
    if (ageMatches(id, filter, now)) ids.push(id);
  }
  return { ids, more: i < snap.count, total: snap.count };
}

/**
 * A page of a folder, oldest first, after `cursor`. With `snapshots`, a page after a cursor comes
 * from a recent snapshot of the folder's IDs (see ListingSnapshots); the first page never does. A filtered page examines at most
 * PAGE_SCAN_BUDGET IDs; it may then hold fewer than `limit` items and still have a `nextCursor`.
 */
export async function listPage(
  spool: Spool,
  folder: QueueFolder,
  page: { cursor?: string; limit: number; filter?: QueueFilter },
  now = Date.now(),
  snapshots?: ListingSnapshots,
): Promise<QueuePage> {
  const filter = page.filter ?? {};
  const snap = snapshots && page.cursor !== undefined ? await snapshots.get(spool, folder, now) : undefined;
  const items: QueueItem[] = [];
  const filtered = needsHead(filter) || filter.held !== undefined;
  const window = filtered ? Math.max(page.limit, 1000) : page.limit;
  let after = page.cursor;
  let examined = 0;
  let total = 0;
  for (;;) {
    const found = snap
      ? snapshotWindow(snap, after, window, filter, now)
      : await idWindow(spool, folder, after, window, filter, now);
    total = found.total;
    for (let i = 0; i < found.ids.length; i++) {
      if (i > 0 && i % SUMMARY_CHUNK === 0) await nextTurn();
      const id = found.ids[i]!;
      after = id;
      examined++;
      const item = summarizeIfMatching(spool, folder, id, filter, found.journals?.has(id) ?? true);
      if (item) items.push(item);
      const lastOfWindow = i === found.ids.length - 1 && !found.more;
      if (items.length === page.limit || (examined >= PAGE_SCAN_BUDGET && !lastOfWindow)) {
        if (lastOfWindow && snap) snapshots?.release(folder);
        return { items, total, ...(lastOfWindow ? {} : { nextCursor: id }) };
      }
    }
    if (!found.more) {
      if (snap) snapshots?.release(folder);
      return { items, total };
    }
  }
}

/** How many entries of a folder pass the filter; with no filter, or by age only, no file is read. */
export async function countEntries(
  spool: Spool,
  folder: QueueFolder,
  filter: QueueFilter = {},
  now = Date.now(),
): Promise<number> {
  const reads = needsHead(filter) || filter.held !== undefined;
  let count = 0;
  if (!reads) {
    await eachName(spool.folder(folder), (name) => {
      if (name.endsWith(ENTRY_SUFFIX) && ageMatches(name.slice(0, -ENTRY_SUFFIX.length), filter, now))
        count++;
    });
    return count;
  }
  let sinceTurn = 0;
  const dir = await fsp.opendir(spool.folder(folder), { bufferSize: 128 });
  for await (const dirent of dir) {
    const name = dirent.name;
    if (!name.endsWith(ENTRY_SUFFIX)) continue;
    const id = name.slice(0, -ENTRY_SUFFIX.length);
    if (!ageMatches(id, filter, now)) continue;
    if (++sinceTurn === SUMMARY_CHUNK) {
      sinceTurn = 0;
      await nextTurn();
    }
    if (passesReads(spool, folder, id, filter)) count++;
  }
  return count;
}

/** Items handed over at a time by `walkFolder`. */
const WALK_BATCH = 1000;

/** A folder as one sorted listing of its names: for a process that holds the spool. */
export interface FolderListing {
  /** The folder's queue IDs, oldest first. */
  ids: string[];
  /** The IDs that have a journal. */
  journals: Set<string>;
}

/** Lists a folder's entries and journals with one `readdir`. */
export async function listFolderIds(spool: Spool, folder: QueueFolder): Promise<FolderListing> {
  const ids: string[] = [];
  const journals = new Set<string>();
  for (const n of await fsp.readdir(spool.folder(folder))) {
    if (n.endsWith(ENTRY_SUFFIX)) ids.push(n.slice(0, -ENTRY_SUFFIX.length));
    else if (n.endsWith(JOURNAL_SUFFIX)) journals.add(n.slice(0, -JOURNAL_SUFFIX.length));
  }
  ids.sort();
  return { ids, journals };
}

/**
 * The items of `listing.ids[from..to)` that pass the filter, in order, read synchronously from the
 * folder at `folderPath`: only the journals the listing shows, and each entry's head with three
 * system calls. An entry that cannot be read (gone since the listing, torn, damaged) is left out.
 */
export function summarizeListed(
  folderPath: string,
  folder: QueueFolder,
  listing: FolderListing,
  from: number,
  to: number,
  filter: QueueFilter,
  now: number,
): QueueItem[] {
  const items: QueueItem[] = [];
  const folderPrefix = folderPath + path.sep;
  for (let i = from; i < to; i++) {
    const id = listing.ids[i]!;
    if (!ageMatches(id, filter, now)) continue;
    const item = summarizeFile(folderPrefix, folder, id, filter, listing.journals.has(id));
    if (item) items.push(item);
  }
  return items;
}

/**
 * Every matching entry of a folder, oldest first, handed to `each` WALK_BATCH at a time as they
 * are read: for a process that holds the spool (the CLI with no relay running), where one sorted
 * listing of the names is the fastest way. Returns the folder's entry count.
 */
export async function walkFolder(
  spool: Spool,
  folder: QueueFolder,
  filter: QueueFilter,
  each: (items: QueueItem[]) => void,
  now = Date.now(),
): Promise<number> {
  const listing = await listFolderIds(spool, folder);
  let batch: QueueItem[] = [];
  for (let from = 0; from < listing.ids.length; from += WALK_BATCH) {
    const to = Math.min(from + WALK_BATCH, listing.ids.length);
    batch.push(...summarizeListed(spool.folder(folder), folder, listing, from, to, filter, now));
    if (batch.length >= WALK_BATCH) {
      each(batch);
      batch = [];
    }
  }
  if (batch.length > 0) each(batch);
  return listing.ids.length;
}
