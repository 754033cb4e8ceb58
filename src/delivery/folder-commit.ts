import fs from 'node:fs';

export interface FolderCommitOptions {
  /** How long the first request of a round waits for others to join it. */
  windowMs: number;
  /** A round starts at once when this many callers wait. */
  maxWaiters: number;
  /** Folders kept open between rounds (most recently synced first); others are opened per round. */
  openFolders: number;
  /** fsyncs of one round in flight at a time (also bounds the descriptors a round opens). */
  parallel: number;
}

/** The folders of one commit whose fsync failed, and why; empty when all are durable. */
export type CommitFailures = Map<string, Error>;

interface Waiter {
  folders: string[];
  resolve: (failures: CommitFailures) => void;
}

/**
 * Group commit over many folders, for capture mode's Maildir `new/` folders. A delivery links a
 * message into up to thousands of folders; fsyncing each folder for each message costs one fsync
 * per recipient (20,000 for 200 messages × 100 recipients). Here every caller names the folders it
 * changed and waits for a round: a round fsyncs each folder named since the previous round once,
 * so concurrent and closely following deliveries into the same mailboxes share their fsyncs. A
 * round starts `windowMs` after its first request or as soon as `maxWaiters` callers wait, and
 * only after the previous round has ended, so every caller's changes are covered by an fsync that
 * started after its call. The files are visible at once; only the caller's "durable" waits.
 */
export class FolderCommit {
  private pending = new Set<string>();
  private waiters: Waiter[] = [];
  private firstWaitAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  /** open descriptors; the Map's order is the order of use (oldest first) */
  private readonly open = new Map<string, number>();
  private closing = false;
  private fsyncsDone = 0;

  constructor(private readonly options: FolderCommitOptions) {}

  /** Folder fsyncs done so far (one per folder per round, however many callers named it). */
  get fsyncs(): number {
    return this.fsyncsDone;
  }

  /** Resolves when every folder in `folders` is durable, with the folders whose fsync failed. */
  commit(folders: Iterable<string>): Promise<CommitFailures> {
    return new Promise((resolve) => {
      const list = [...folders];
      if (list.length === 0) return resolve(new Map());
      for (const folder of list) this.pending.add(folder);
      if (this.waiters.length === 0) this.firstWaitAt = performance.now();
      this.waiters.push({ folders: list, resolve });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.running || this.waiters.length === 0) return;
    const wait = this.firstWaitAt + this.options.windowMs - performance.now();
    if (this.closing || this.waiters.length >= this.options.maxWaiters || wait <= 0) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = undefined;
      this.running = this.round().finally(() => {
        this.running = undefined;
        this.schedule();
      });
    } else if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.schedule();
      }, wait);
    }
  }

  private async round(): Promise<void> {
    const folders = [...this.pending];
    const waiters = this.waiters;
    this.pending = new Set();
    this.waiters = [];
    const failed: CommitFailures = new Map();
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < folders.length) {
        const folder = folders[next++]!;
        const err = await this.fsyncFolder(folder);
        if (err) failed.set(folder, err);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.options.parallel, folders.length) }, worker));
    this.trimOpen();
    for (const w of waiters) {
      const mine: CommitFailures = new Map();
      if (failed.size > 0)
        for (const folder of w.folders) {
          const err = failed.get(folder);
          if (err) mine.set(folder, err);
        }
      w.resolve(mine);
    }
  }

  /** fsync of one folder: undefined when durable, else the error. */
  private async fsyncFolder(folder: string): Promise<Error | undefined> {
    let fd = this.open.get(folder);
    if (fd !== undefined)
      this.open.delete(folder); // re-inserted below as the most recent
    else {
      const opened = await new Promise<number | Error>((resolve) =>
        fs.open(folder, 'r', (err, got) => resolve(err ?? got)),
      );
      if (opened instanceof Error) return opened;
      fd = opened;
    }
    const err = await new Promise<Error | null>((resolve) => fs.fsync(fd, resolve));
    this.fsyncsDone++;
    // a descriptor whose fsync failed may stay unusable: it is closed and opened again next time
    if (err || this.closing) fs.close(fd, () => undefined);
    else this.open.set(folder, fd);
    return err ?? undefined;
  }

  /** Closes the least recently synced folders beyond `openFolders` (between rounds only). */
  private trimOpen(): void {
    for (const [folder, fd] of this.open) {
      if (this.open.size <= this.options.openFolders) break;
      this.open.delete(folder);
      fs.close(fd, () => undefined);
    }
  }

  /** Runs the rounds still owed (without waiting for the window), then closes every folder. */
  async close(): Promise<void> {
    this.closing = true;
    this.schedule();
    while (this.running) await this.running;
    for (const fd of this.open.values()) fs.close(fd, () => undefined);
    this.open.clear();
  }
}
