import fs from 'node:fs/promises';
import { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import zlib from 'node:zlib';
import type { DirectorySync } from './directory-sync.js';
import { encodeEntryTrailer, headChecksum } from './entry-format.js';

/**
 * Writes one spool entry: the head (envelope) when opened, the message as it streams in, the
 * trailer at the end; then `commit()` makes it durable: fsync of the file (in `_final`), rename
 * from tmp/ into its folder, fsync of that folder. Until `commit()` resolves nothing is in the
 * queue; `discard()` removes the temporary file.
 */
export class EntryWriter extends Writable {
  private handle: fs.FileHandle | undefined;
  private crc: number;
  private messageBytes = 0;
  private committed = false;

  constructor(
    private readonly tmpPath: string,
    private readonly finalPath: string,
    private readonly head: Buffer,
    private readonly folderSync: DirectorySync,
  ) {
    super({ highWaterMark: 256 * 1024 });
    this.crc = headChecksum(head);
  }

  /** Bytes of message written so far. */
  get size(): number {
    return this.messageBytes;
  }

  override _construct(callback: (err?: Error | null) => void): void {
    fs.open(this.tmpPath, 'wx', 0o600)
      .then(async (handle) => {
        this.handle = handle;
        await handle.write(this.head);
        callback();
      })
      .catch((err: Error) => callback(err));
  }

  override _writev(chunks: { chunk: Buffer }[], callback: (err?: Error | null) => void): void {
    const buffers = chunks.map((c) => c.chunk);
    for (const b of buffers) {
      this.crc = zlib.crc32(b, this.crc);
      this.messageBytes += b.length;
    }
    this.handle!.writev(buffers).then(
      () => callback(),
      (err: Error) => callback(err),
    );
  }

  override _final(callback: (err?: Error | null) => void): void {
    const handle = this.handle!;
    handle
      .write(encodeEntryTrailer(this.messageBytes, this.crc))
      .then(() => handle.sync())
      .then(() => handle.close())
      .then(
        () => {
          this.handle = undefined;
          callback();
        },
        (err: Error) => callback(err),
      );
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    const handle = this.handle;
    this.handle = undefined;
    if (!handle) return callback(err);
    handle.close().then(
      () => callback(err),
      () => callback(err),
    );
  }

  /** Ends the entry and makes it durable in its folder. Rejects if anything failed. */
  async commit(): Promise<void> {
    if (this.errored) throw this.errored;
    if (!this.writableEnded) this.end();
    await finished(this, { readable: false });
    await fs.rename(this.tmpPath, this.finalPath);
    this.committed = true;
    await this.folderSync.sync();
  }

  /** Drops the entry: nothing of it stays in the spool. */
  async discard(): Promise<void> {
    if (this.committed) return;
    if (!this.destroyed) this.destroy();
    await new Promise<void>((resolve) => (this.closed ? resolve() : this.once('close', () => resolve())));
    await fs.rm(this.tmpPath, { force: true });
  }
}
