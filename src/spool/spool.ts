import fsp from 'node:fs/promises';
import path from 'node:path';
import { DirectorySync } from './directory-sync.js';
import {
  TRAILER_LENGTH,
  decodeEntry,
  decodeEntryHead,
  encodeEntryHead,
  type EntryResult,
} from './entry-format.js';
import { JournalWriter, emptyJournal, replayJournal, type JournalState } from './recipient-journal.js';
import { EntryWriter } from './entry-writer.js';
import type { Envelope } from '../message/envelope.js';
import { QueueIdGenerator, isQueueId } from './queue-id.js';
import { openRegularFile, readRegularFile, restrictMode } from './regular-file.js';
import {
  ENTRY_SUFFIX,
  JOURNAL_SUFFIX,
  QUEUE_FOLDERS,
  SPOOL_FOLDERS,
  createSpoolFolders,
  type QueueFolder,
  type SpoolFolder,
} from './queue-folders.js';

export { ENTRY_SUFFIX, JOURNAL_SUFFIX, QUEUE_FOLDERS, SPOOL_FOLDERS, type QueueFolder, type SpoolFolder };

export type HeadSummary =
  { ok: true; envelope: Envelope; messageBytes: number } | { ok: false; reason: string };

export interface RecoveryReport {
  /** Incomplete temporary files removed from tmp/. */
  removed: string[];
  /** Journals whose entry had moved on (a crash between the two renames of a move), put back with it or removed. */
  journalsRepaired: string[];
}

/**
 * The spool directory: its folders, atomic commit of new entries and startup recovery.
 * The only code that creates, renames or removes spool files.
 */
export class Spool {
  private readonly ids = new QueueIdGenerator();
  private readonly syncs = new Map<QueueFolder, DirectorySync>();

  private constructor(readonly dir: string) {}

  /** Creates the folders (mode 0700) if needed; does not recover (see `recover`). */
  static open(dir: string): Spool {
    createSpoolFolders(dir);
    return new Spool(dir);
  }

  folder(name: SpoolFolder): string {
    return path.join(this.dir, name);
  }

  entryPath(folder: QueueFolder, queueId: string): string {
    return path.join(this.dir, folder, queueId + ENTRY_SUFFIX);
  }

  newQueueId(): string {
    return this.ids.next();
  }

  /**
   * Starts a new entry for `envelope` in `folder` (default in/). Write the message to the returned
   * stream, then `commit()` it; only then is it in the queue.
   */
  createEntry(envelope: Envelope, folder: QueueFolder = 'in'): EntryWriter {
    return new EntryWriter(
      path.join(this.dir, 'tmp', envelope.queueId + ENTRY_SUFFIX),
      this.entryPath(folder, envelope.queueId),
      encodeEntryHead(envelope),
      this.folderSync(folder),
    );
  }

  /** Queue IDs of the entries in a folder, oldest first. */
  async list(folder: QueueFolder): Promise<string[]> {
    const names = await fsp.readdir(this.folder(folder));
    return names
      .filter((n) => n.endsWith(ENTRY_SUFFIX))
      .map((n) => n.slice(0, -ENTRY_SUFFIX.length))
      .sort();
  }

  /**
   * One readdir of a folder: the queue IDs of its entries (oldest first) and the IDs that have a
   * journal, so that a caller reads no journal that is not there.
   */
  async listWithJournals(folder: QueueFolder): Promise<{ ids: string[]; journals: Set<string> }> {
    const ids: string[] = [];
    const journals = new Set<string>();
    for (const n of await fsp.readdir(this.folder(folder))) {
      if (n.endsWith(ENTRY_SUFFIX)) ids.push(n.slice(0, -ENTRY_SUFFIX.length));
      else if (n.endsWith(JOURNAL_SUFFIX)) journals.add(n.slice(0, -JOURNAL_SUFFIX.length));
    }
    return { ids: ids.sort(), journals };
  }

  journalPath(folder: QueueFolder, queueId: string): string {
    return path.join(this.dir, folder, queueId + JOURNAL_SUFFIX);
  }

  private folderSync(folder: QueueFolder): DirectorySync {
    let sync = this.syncs.get(folder);
    if (!sync) {
      sync = new DirectorySync(this.folder(folder));
      this.syncs.set(folder, sync);
    }
    return sync;
  }

  /**
   * Reads and verifies a whole entry. The spool trusts nothing it reads: a symbolic link or a file
   * that is not a regular file is refused (never followed, never blocks), and the queue ID inside
   * the envelope must be the file's own name and have the queue-ID syntax.
   */
  async readEntry(
    folder: QueueFolder,
    queueId: string,
  ): Promise<EntryResult & { transient?: boolean; code?: string }> {
    // locked or unreadable for now (an antivirus scanner, Q317653; out of descriptors): transient
    const read = await readRegularFile(this.entryPath(folder, queueId));
    if (!read.ok) return read;
    const entry = decodeEntry(read.bytes);
    if (!entry.ok) return entry;
    const forged = checkQueueId(entry.envelope, queueId);
    return forged ? { ok: false, reason: forged } : entry;
  }

  /** When an entry was committed (its modification time: entries are never written again), if it is there. */
  async entryCommittedAt(folder: QueueFolder, queueId: string): Promise<Date | undefined> {
    try {
      return (await fsp.lstat(this.entryPath(folder, queueId))).mtime;
    } catch {
      return undefined;
    }
  }

  /** The envelope and message size of an entry, reading only its head (not the message). */
  async readEntryHead(folder: QueueFolder, queueId: string): Promise<HeadSummary> {
    const opened = await openRegularFile(this.entryPath(folder, queueId));
    if (!opened.ok) return { ok: false, reason: opened.reason };
    const { handle, size } = opened;
    try {
      let bytes = Buffer.alloc(Math.min(size, 64 * 1024));
      await handle.read(bytes, 0, bytes.length, 0);
      const declared = /^IMSR\/\d+ (\d{1,12})\n/.exec(bytes.subarray(0, 64).toString('latin1'));
      if (declared && Number(declared[1]) + declared[0].length + 1 > bytes.length && size > bytes.length) {
        bytes = Buffer.alloc(Math.min(size, Number(declared[1]) + declared[0].length + 1));
        await handle.read(bytes, 0, bytes.length, 0);
      }
      const head = decodeEntryHead(bytes);
      if (!head.ok) return head;
      const forged = checkQueueId(head.envelope, queueId);
      if (forged) return { ok: false, reason: forged };
      return {
        ok: true,
        envelope: head.envelope,
        messageBytes: Math.max(0, size - head.messageOffset - TRAILER_LENGTH),
      };
    } finally {
      await handle.close();
    }
  }

  /** The delivery journal of an entry (empty when there is none yet). */
  async readJournal(folder: QueueFolder, queueId: string): Promise<JournalState> {
    const read = await readRegularFile(this.journalPath(folder, queueId));
    if (read.ok) return replayJournal(read.bytes.toString('utf8'));
    if (read.code === 'ENOENT') return emptyJournal();
    throw Object.assign(new Error(`journal of ${queueId} ${read.reason}`), { code: read.code });
  }

  openJournal(folder: QueueFolder, queueId: string): Promise<JournalWriter> {
    return JournalWriter.open(this.journalPath(folder, queueId));
  }

  /** Whether an entry with this ID is in any queue folder (and which). */
  async locate(queueId: string): Promise<QueueFolder | undefined> {
    for (const folder of QUEUE_FOLDERS) {
      if (await exists(this.entryPath(folder, queueId))) return folder;
    }
    return undefined;
  }

  /**
   * Moves an entry and its journal to another folder, durably. The entry moves first: a crash in
   * between leaves the journal behind, and `recover` puts it back with its entry.
   */
  async moveEntry(queueId: string, from: QueueFolder, to: QueueFolder): Promise<void> {
    await fsp.rename(this.entryPath(from, queueId), this.entryPath(to, queueId));
    try {
      await fsp.rename(this.journalPath(from, queueId), this.journalPath(to, queueId));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    // bad/ keeps what nobody should read: mode 0600 whatever it had
    if (to === 'bad') {
      await restrictMode(this.entryPath(to, queueId));
      await restrictMode(this.journalPath(to, queueId));
    }
    await Promise.all([this.folderSync(to).sync(), this.folderSync(from).sync()]);
  }

  /** Moves an entry back to in/ without its journal, for a fresh delivery. */
  async replay(queueId: string, from: QueueFolder): Promise<void> {
    await fsp.rm(this.journalPath(from, queueId), { force: true });
    await fsp.rename(this.entryPath(from, queueId), this.entryPath('in', queueId));
    await Promise.all([this.folderSync('in').sync(), this.folderSync(from).sync()]);
  }

  /** Removes an entry and its journal (durably unless told otherwise). */
  async removeEntry(folder: QueueFolder, queueId: string, durable = true): Promise<void> {
    await unlinkIfThere(this.entryPath(folder, queueId));
    await unlinkIfThere(this.journalPath(folder, queueId));
    if (durable) await this.folderSync(folder).sync();
  }

  /**
   * Startup recovery, before accepting or delivering mail: removes what a crash left half-written
   * in tmp/, and reunites journals with their entries.
   */
  async recover(): Promise<RecoveryReport> {
    const removed: string[] = [];
    for (const name of await fsp.readdir(this.folder('tmp'))) {
      await fsp.rm(path.join(this.folder('tmp'), name), { force: true, recursive: true });
      removed.push(name);
    }
    const journalsRepaired: string[] = [];
    for (const folder of QUEUE_FOLDERS) {
      // one readdir per folder: a journal whose entry is listed next to it costs no lookup
      const names = await fsp.readdir(this.folder(folder));
      const present = new Set(names);
      for (const name of names) {
        if (!name.endsWith(JOURNAL_SUFFIX)) continue;
        const queueId = name.slice(0, -JOURNAL_SUFFIX.length);
        if (present.has(queueId + ENTRY_SUFFIX)) continue;
        const home = await this.locate(queueId);
        if (home) await fsp.rename(this.journalPath(folder, queueId), this.journalPath(home, queueId));
        else await fsp.rm(this.journalPath(folder, queueId), { force: true });
        journalsRepaired.push(`${folder}/${name}`);
      }
    }
    return { removed, journalsRepaired };
  }

  /** Closes the folder descriptors kept open for fsync. */
  async close(): Promise<void> {
    await Promise.all([...this.syncs.values()].map((s) => s.close()));
    this.syncs.clear();
  }

  /** Bytes available to this process on the spool's file system. */
  async freeBytes(): Promise<number> {
    const stats = await fsp.statfs(this.dir);
    return stats.bavail * stats.bsize;
  }
}

/**
 * Why an envelope's queue ID may not be used (it is used in file names: Maildir links, reports),
 * or undefined when it is the entry's own file name and has the queue-ID syntax.
 */
function checkQueueId(envelope: Envelope, fileQueueId: string): string | undefined {
  if (!isQueueId(fileQueueId)) return `the file name ${JSON.stringify(fileQueueId)} is not a queue ID`;
  if (envelope.queueId !== fileQueueId)
    return `the envelope's queue ID ${JSON.stringify(String(envelope.queueId).slice(0, 100))} is not the file's name`;
  return undefined;
}

/** Removes a file; one that is not there is no error. */
async function unlinkIfThere(file: string): Promise<void> {
  try {
    await fsp.unlink(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/** Whether a path exists (any kind of file). */
export async function exists(file: string): Promise<boolean> {
  try {
    await fsp.access(file);
    return true;
  } catch {
    return false;
  }
}
