/**
 * The events file's writer: JSON lines appended in batches, with a bounded delay and recovery.
 *
 * - **Bounded delay.** Lines wait at most FLUSH_MS (or until 64 KB wait) and are then written with
 *   one synchronous `write(2)` from the event loop. A write of a few KB to the page cache takes
 *   microseconds; the asynchronous fs.WriteStream this replaces queued its writes behind the spool's
 *   fsyncs in libuv's four-thread pool, so under load events stayed unwritten for hundreds of ms
 *   and a SIGKILL lost them. Now an event is in the file (it survives a kill of the process) one
 *   timer later, however busy the disk is.
 * - **Recovery.** A failing write (ENOSPC, EACCES, EIO …) is reported once on stderr; the unwritten
 *   bytes are kept (up to MAX_BACKLOG, later lines are counted and dropped), the descriptor is
 *   closed, and every RETRY_MS the file is opened again and the backlog written, from the exact
 *   byte where the failed write stopped (a line torn by ENOSPC is completed, not left torn). The
 *   recovery is reported on stderr too.
 */
import fs from 'node:fs';
import path from 'node:path';

export const FLUSH_MS = 10;
const FLUSH_BYTES = 64 * 1024;
const RETRY_MS = 1000;
const MAX_BACKLOG = 4 * 1024 * 1024;

export class EventFile {
  private fd: number | undefined;
  /** Bytes a failed write left unwritten (the rest of a torn line first). */
  private head: Buffer = Buffer.alloc(0);
  private pending: string[] = [];
  private pendingBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private retry: NodeJS.Timeout | undefined;
  private failure: string | undefined;
  private dropped = 0;
  private late = 0;
  private closed = false;

  constructor(
    readonly file: string,
    private readonly stderr: NodeJS.WritableStream,
  ) {
    try {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      this.fd = fs.openSync(file, 'a', 0o600);
    } catch {
      // reported by the first write, which tries again
    }
  }

  /** True while the file cannot be written (the lines wait in memory). */
  get failing(): boolean {
    return this.failure !== undefined;
  }

  append(line: string): void {
    if (this.closed) return;
    if (this.failure !== undefined && this.head.length + this.pendingBytes > MAX_BACKLOG) {
      this.dropped++;
      return;
    }
    if (this.failure !== undefined) this.late++;
    this.pending.push(line);
    this.pendingBytes += Buffer.byteLength(line);
    if (this.failure !== undefined) return; // the retry timer writes them
    if (this.pendingBytes >= FLUSH_BYTES) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), FLUSH_MS);
  }

  /** Writes what waits, now. Returns false when the file cannot be written. */
  flush(): boolean {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.head.length === 0 && this.pending.length === 0) return this.failure === undefined;
    const data = Buffer.concat([this.head, Buffer.from(this.pending.join(''))]);
    this.pending = [];
    this.pendingBytes = 0;
    let written = 0;
    try {
      if (this.fd === undefined) {
        fs.mkdirSync(path.dirname(this.file), { recursive: true });
        this.fd = fs.openSync(this.file, 'a', 0o600);
      }
      while (written < data.length) written += fs.writeSync(this.fd, data, written);
      this.head = Buffer.alloc(0);
    } catch (err) {
      this.head = data.subarray(written);
      this.failed(err as Error);
      return false;
    }
    if (this.failure !== undefined) this.recovered();
    return true;
  }

  private failed(err: Error): void {
    if (this.fd !== undefined) {
      try {
        fs.closeSync(this.fd);
      } catch {
        // it is being given up anyway
      }
      this.fd = undefined;
    }
    if (this.failure === undefined) {
      this.failure = err.message;
      this.late = 0;
      this.stderr.write(
        `ims-relay: cannot write the events file ${this.file}: ${err.message}; events go to stdout and wait in memory for the file, tried again every second; mail keeps flowing\n`,
      );
    }
    if (!this.closed && !this.retry) {
      this.retry = setInterval(() => this.flush(), RETRY_MS);
      this.retry.unref();
    }
  }

  private recovered(): void {
    if (this.retry) clearInterval(this.retry);
    this.retry = undefined;
    this.stderr.write(
      `ims-relay: the events file ${this.file} is writable again (${this.late} event(s) written late${this.dropped > 0 ? `, ${this.dropped} dropped` : ''})\n`,
    );
    this.failure = undefined;
    this.dropped = 0;
    this.late = 0;
  }

  close(): void {
    this.flush();
    this.closed = true;
    if (this.retry) clearInterval(this.retry);
    this.retry = undefined;
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }
}
