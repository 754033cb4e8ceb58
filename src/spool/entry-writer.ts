import fs from 'node:fs';
import { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import type { DirectorySync } from './directory-sync.js';
import { encodeEntryTrailer, headChecksum } from './entry-format.js';

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
 * fsync + close (four file-system calls in all, of which only the fsync leaves the main thread); a
 * large one is opened as soon as it passes BUFFERED_BYTES and streamed through libuv's pool.
 */
export class EntryWriter extends Writable {
  private fd: number | undefined;
  private pending: Buffer[];
  private pendingBytes: number;
  private crc: number;
  private messageBytes = 0;
  private committed = false;
  private created = false;
  /** An open, write or fsync is in libuv's pool: destroying must wait for it (see _destroy). */
  private ioPending = false;
  private afterIo: (() => void) | undefined;

  constructor(
    private readonly tmpPath: string,
    private readonly finalPath: string,
    head: Buffer,
    private readonly folderSync: DirectorySync,
  ) {
    super({ highWaterMark: BUFFERED_BYTES });
    // a failed write is reported by commit(), which rejects with it; without a listener, the
    // 'error' event of a write that failed inside end() (a full disk while a small entry such as
    // an NDR is written whole, before commit() is called) crashed the process
    this.on('error', () => undefined);
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

  /** Marks an operation in the pool; the returned function ends it and runs a waiting destroy. */
  private startIo(callback: (err?: Error | null) => void): (err?: Error | null) => void {
    this.ioPending = true;
    return (err) => {
      this.ioPending = false;
      const after = this.afterIo;
      this.afterIo = undefined;
      if (after) after();
      else callback(err);
    };
  }

  /** Writes what is pending, opening the file first if needed. */
  private flush(callback: (err?: Error | null) => void): void {
    const buffers = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    const done = this.startIo(callback);
    const write = (fd: number) => fs.writev(fd, buffers, (err) => done(err));
    if (this.fd !== undefined) return write(this.fd);
    fs.open(this.tmpPath, 'wx', 0o600, (err, fd) => {
      if (err) return done(err);
      this.fd = fd;
      this.created = true;
      if (this.destroyed) return done(); // the client went away while the file was being created
      write(fd);
    });
  }

  override _final(callback: (err?: Error | null) => void): void {
    this.pending.push(encodeEntryTrailer(this.messageBytes, this.crc));
    if (this.fd === undefined) return this.writeWhole(callback);
    this.flush((err) => {
      if (err) return callback(err);
      this.syncAndClose(this.fd!, callback);
    });
  }

  /**
   * A message that stayed under BUFFERED_BYTES: create, write and (after the fsync) close on this
   * thread, and only the fsync, which waits for the disk, goes to libuv's pool. Each of the other
   * calls costs tens of microseconds of kernel time, about what a round trip to a pool thread and
   * back costs (two context switches and a wake-up on a busy core). Creating the file can take up
   * to a millisecond on ext4 without a journal after many deletions nearby (docs/performance.md).
   */
  private writeWhole(callback: (err?: Error | null) => void): void {
    const buffers = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    let fd: number;
    try {
      fd = fs.openSync(this.tmpPath, 'wx', 0o600);
    } catch (err) {
      return callback(err as Error);
    }
    this.fd = fd;
    this.created = true;
    try {
      writeAllSync(fd, buffers);
    } catch (err) {
      return callback(err as Error); // _destroy closes fd; discard() removes the file
    }
    this.syncAndClose(fd, callback);
  }

  private syncAndClose(fd: number, callback: (err?: Error | null) => void): void {
    const done = this.startIo(callback);
    fs.fsync(fd, (syncErr) => {
      this.fd = undefined;
      let closeErr: Error | undefined;
      try {
        fs.closeSync(fd);
      } catch (err) {
        closeErr = err as Error;
      }
      done(syncErr ?? closeErr);
    });
  }

  /**
   * Closes the file. An open, write or fsync still in the pool is waited for first: a client that
   * vanished while the file was being opened (just past BUFFERED_BYTES) used to leave the file in
   * tmp/ and its descriptor open until restart, and closing under a write in flight could hand
   * the number to another file.
   */
  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    const close = () => {
      const fd = this.fd;
      this.fd = undefined;
      this.pending = [];
      if (fd === undefined) return callback(err);
      fs.close(fd, () => callback(err));
    };
    if (this.ioPending) this.afterIo = close;
    else close();
  }

  /** Ends the entry and makes it durable in its folder. Rejects if anything failed. */
  async commit(): Promise<void> {
    if (this.errored) throw this.errored;
    if (!this.writableEnded) this.end();
    await finished(this, { readable: false });
    fs.renameSync(this.tmpPath, this.finalPath); // tens of microseconds; see writeWhole
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

/** writev until every byte is written (a regular file may take fewer bytes than asked: ENOSPC next). */
export function writeAllSync(fd: number, buffers: Buffer[]): void {
  let rest = buffers;
  while (rest.length > 0) {
    let written = fs.writevSync(fd, rest);
    const next: Buffer[] = [];
    for (const b of rest) {
      if (written >= b.length) {
        written -= b.length;
        continue;
      }
      next.push(written > 0 ? b.subarray(written) : b);
      written = 0;
    }
    rest = next;
  }
}
