import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { DirectorySync } from './directory-sync.js';
import { encodeEntryHead } from './entry-format.js';
import { EntryWriter } from './entry-writer.js';
import type { Envelope } from './envelope.js';
import { QueueIdGenerator } from './queue-id.js';

export const SPOOL_FOLDERS = ['pickup', 'in', 'out', 'bad', 'archive', 'log', 'tmp'] as const;
export type SpoolFolder = (typeof SPOOL_FOLDERS)[number];
/** Folders that hold spool entries (as opposed to pickup files, logs and temporaries). */
export type QueueFolder = 'in' | 'out' | 'bad' | 'archive';

export const ENTRY_SUFFIX = '.imsr';

export interface RecoveryReport {
  /** Incomplete temporary files removed from tmp/. */
  removed: string[];
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
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    for (const folder of SPOOL_FOLDERS) fs.mkdirSync(path.join(dir, folder), { recursive: true, mode: 0o700 });
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
    let sync = this.syncs.get(folder);
    if (!sync) {
      sync = new DirectorySync(this.folder(folder));
      this.syncs.set(folder, sync);
    }
    return new EntryWriter(
      path.join(this.dir, 'tmp', envelope.queueId + ENTRY_SUFFIX),
      this.entryPath(folder, envelope.queueId),
      encodeEntryHead(envelope),
      sync,
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

  /** Removes what a crash left half-written in tmp/. Run once at startup, before accepting mail. */
  async recover(): Promise<RecoveryReport> {
    const removed: string[] = [];
    for (const name of await fsp.readdir(this.folder('tmp'))) {
      await fsp.rm(path.join(this.folder('tmp'), name), { force: true, recursive: true });
      removed.push(name);
    }
    return { removed };
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
