import fs from 'node:fs';
import { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import type { DirectorySync } from './directory-sync.js';
import { encodeEntryTrailer, headChecksum } from './entry-format.js';

const rename = promisify(fs.rename);
const rm = promisify(fs.rm);

/** Messages up to this size are written with one writev when they end; larger ones stream. */
const BUFFERED_BYTES = 256 * 1024;

/**
 * Writes one spool entry: the head (envelope), the message as it streams in, the trailer; then
 * `commit()` makes it durable: fsync of the file (in `_final`), rename from tmp/ into its folder,
 * fsync of that folder. Until `commit()` resolves nothing is in the queue; `discard()` removes the
 * temporary file.
 *
 * A small message is kept in memory until it ends and then written with a single open + writev +
 * fsync + close (four file-system calls in all); a large one is opened as soon as it passes
 * BUFFERED_BYTES and streamed.
 */
export class EntryWriter extends Writable {
  private fd: number | undefined;
  private pending: Buffer[];
  private pendingBytes: number;
  private crc: number;
  private messageBytes = 0;
  private committed = false;
  private created = false;

  constructor(
    private readonly tmpPath: string,
    private readonly finalPath: string,
    head: Buffer,
    private readonly folderSync: DirectorySync,
  ) {
    super({ highWaterMark: BUFFERED_BYTES });
    this.crc = headChecksum(head);
    this.pending = [head];
    this.pendingBytes = head.length;
  }

  /** Bytes of message written so far. */
  get size(): number {
    return this.messageBytes;
  }

  override _writev(chunks: { chunk: Buffer }[], callback: (err?: Error | null) => void): void {
    for (const { chunk } of chunks) {
      this.crc = zlib.crc32(chunk, this.crc);
      this.messageBytes += chunk.length;
      this.pending.push(chunk);
      this.pendingBytes += chunk.length;
    }
    if (this.pendingBytes < BUFFERED_BYTES) return callback();
    this.flush(callback);
  }

  /** Writes what is pending, opening the file first if needed. */
  private flush(callback: (err?: Error | null) => void): void {
    const buffers = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    const write = (fd: number) =>
      fs.writev(fd, buffers, (err) => {
        if (err) return callback(err);
        callback();
      });
    if (this.fd !== undefined) return write(this.fd);
    fs.open(this.tmpPath, 'wx', 0o600, (err, fd) => {
      if (err) return callback(err);
      this.fd = fd;
      this.created = true;
      write(fd);
    });
  }

  override _final(callback: (err?: Error | null) => void): void {
    this.pending.push(encodeEntryTrailer(this.messageBytes, this.crc));
    this.flush((err) => {
      if (err) return callback(err);
      const fd = this.fd!;
      fs.fsync(fd, (syncErr) => {
        this.fd = undefined;
        fs.close(fd, (closeErr) => callback(syncErr ?? closeErr));
      });
    });
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    const fd = this.fd;
    this.fd = undefined;
    this.pending = [];
    if (fd === undefined) return callback(err);
    fs.close(fd, () => callback(err));
  }

  /** Ends the entry and makes it durable in its folder. Rejects if anything failed. */
  async commit(): Promise<void> {
    if (this.errored) throw this.errored;
    if (!this.writableEnded) this.end();
    await finished(this, { readable: false });
    await rename(this.tmpPath, this.finalPath);
    this.committed = true;
    await this.folderSync.sync();
  }

  /** Drops the entry: nothing of it stays in the spool. */
  async discard(): Promise<void> {
    if (this.committed) return;
    if (!this.destroyed) this.destroy();
    await new Promise<void>((resolve) => (this.closed ? resolve() : this.once('close', () => resolve())));
    if (this.created) await rm(this.tmpPath, { force: true });
  }
}
