import fs from 'node:fs';

/**
 * fsync of one directory, shared by everyone who renamed a file into it: a caller's promise
 * resolves after an fsync that *started after* the call, so its rename is covered, and callers
 * share fsyncs (group commit): all callers of one turn of the event loop share one, which starts
 * at the end of that turn (several file fsyncs often complete in the same turn, and their renames
 * follow at once), and callers that arrive while an fsync runs share the next one. Under load this
 * turns one directory fsync per message into one per batch. The directory stays open between syncs.
 */
export class DirectorySync {
  private fd: number | undefined;
  private running: Promise<void> | undefined;
  private queued: Promise<void> | undefined;
  private started = 0;

  /** `keepOpen`: hold the directory open between syncs (false for a folder synced once). */
  constructor(
    private readonly dir: string,
    private keepOpen = true,
  ) {}

  /** fsyncs started so far. */
  get fsyncs(): number {
    return this.started;
  }

  sync(): Promise<void> {
    if (this.queued) return this.queued;
    const after = this.running
      ? this.running.catch(() => undefined)
      : new Promise<void>((resolve) => setImmediate(resolve));
    this.queued = after.then(() => {
      this.queued = undefined;
      return this.start();
    });
    return this.queued;
  }

  private start(): Promise<void> {
    this.started++;
    const run = this.fsyncDir().finally(() => {
      if (this.running === run) this.running = undefined;
    });
    this.running = run;
    return run;
  }

  private fsyncDir(): Promise<void> {
    return new Promise((resolve, reject) => {
      const sync = (fd: number) =>
        fs.fsync(fd, (err) => {
          if (!err && !this.keepOpen) {
            this.fd = undefined;
            return fs.close(fd, () => resolve());
          }
          if (!err) return resolve();
          // a failed fsync may leave the descriptor unusable: open it again next time
          this.fd = undefined;
          fs.close(fd, () => reject(err));
        });
      if (this.fd !== undefined) return sync(this.fd);
      fs.open(this.dir, 'r', (err, fd) => {
        if (err) return reject(err);
        this.fd = fd;
        sync(fd);
      });
    });
  }

  /** Closes the directory after the last sync; later syncs open and close it each time. */
  async close(): Promise<void> {
    this.keepOpen = false;
    await Promise.allSettled([this.running, this.queued]);
    const fd = this.fd;
    this.fd = undefined;
    if (fd !== undefined) await new Promise<void>((resolve) => fs.close(fd, () => resolve()));
  }
}
