/**
 * Where the bytes of a message being received go. Normally a spool entry (EntryWriter), committed
 * before the 250. When the message may be captured at once (capture mode, every recipient simply
 * captured: see DirectDestination), the bytes are held in memory instead and handed whole to the
 * direct destination at the final dot, which makes them durable in the message store: no spool
 * entry, no journal, no delivery round trip. A message that grows past `memoryLimit`, or whose
 * direct capture fails, goes to a spool entry after all (the bytes held so far are written to it
 * first), so the relay's ordinary path and its retries take it: nothing is lost either way.
 */
import { EventEmitter } from 'node:events';
import type { EntryWriter } from '../spool/entry-writer.js';
import type { Envelope } from '../message/envelope.js';

/** The result of a direct capture: durable (`ok`), or an error that sends the message to the spool. */
export type DirectCaptureResult = { ok: true } | { ok: false; error: Error };

/**
 * A destination that can take a whole message at the final dot and make it durable before the
 * reply (the wiring module hands the listener one in capture mode; server/ does not know the store).
 */
export interface DirectDestination {
  /** Whether this envelope may skip the queue (decided when DATA starts, from the envelope alone). */
  accepts(envelope: Envelope): boolean;
  /** Makes the message durable for every recipient; resolves with a value, never rejects. */
  capture(envelope: Envelope, message: Buffer): Promise<DirectCaptureResult>;
  /** Told once the message's 1100 is out: the message is delivered to all its recipients. */
  delivered(envelope: Envelope): void;
}

/**
 * The bytes all messages of a listener may hold in memory together for direct captures: past it, a
 * message goes to a spool entry (streamed to disk) instead, so a thousand clients sending at once
 * cannot make the relay hold a thousand messages.
 */
export class HeldBytes {
  private used = 0;

  constructor(readonly limit: number) {}

  /** Takes `n` bytes of the budget if they fit. */
  take(n: number): boolean {
    if (this.used + n > this.limit) return false;
    this.used += n;
    return true;
  }

  give(n: number): void {
    this.used -= n;
  }

  get inUse(): number {
    return this.used;
  }
}

/** How a committed message was kept. */
export type Committed = 'captured' | 'queued';

export class IntakeWriter extends EventEmitter {
  private held: Buffer[] = [];
  private heldBytes = 0;
  private entry: EntryWriter | undefined;
  private bytes = 0;

  /**
   * `direct`: where the message goes at once (undefined: straight to a spool entry); `memoryLimit`:
   * the most bytes held for it before the message is written to a spool entry instead; `budget`:
   * what all messages may hold together.
   */
  constructor(
    private readonly createEntry: () => EntryWriter,
    private readonly envelope: Envelope,
    private readonly direct: DirectDestination | undefined,
    private readonly memoryLimit: number,
    private readonly budget: HeldBytes,
  ) {
    super();
    if (!direct) this.toSpool();
  }

  /** Bytes written so far. */
  get size(): number {
    return this.bytes;
  }

  /** True while the message goes to the direct destination (it has not fallen back to the spool). */
  get isDirect(): boolean {
    return this.entry === undefined;
  }

  /** Like Writable.write: false means wait for 'drain'. Errors are emitted as 'error'. */
  write(chunk: Buffer | string): boolean {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    this.bytes += bytes.length;
    if (this.entry) return this.entry.write(bytes);
    if (this.heldBytes + bytes.length <= this.memoryLimit && this.budget.take(bytes.length)) {
      this.held.push(bytes);
      this.heldBytes += bytes.length;
      return true;
    }
    this.held.push(bytes);
    return this.toSpool();
  }

  /** Lets go of the bytes held (their share of the budget goes back). */
  private release(): Buffer[] {
    const held = this.held;
    this.budget.give(this.heldBytes);
    this.held = [];
    this.heldBytes = 0;
    return held;
  }

  /** Switches to a spool entry, writing what was held; returns the entry's write result. */
  private toSpool(): boolean {
    const entry = this.createEntry();
    this.entry = entry;
    entry.on('error', (err: Error) => this.emit('error', err));
    entry.on('drain', () => this.emit('drain'));
    const held = this.release();
    let ok = true;
    for (const b of held) ok = entry.write(b);
    return ok;
  }

  /**
   * Makes the message durable: captured directly when it is still held in memory and the direct
   * destination takes it, else committed as a spool entry. Rejects only when the spool entry
   * cannot be committed.
   */
  async commit(): Promise<Committed> {
    if (!this.entry && this.direct) {
      const result = await this.direct.capture(this.envelope, Buffer.concat(this.held, this.heldBytes));
      if (result.ok) {
        this.release();
        return 'captured';
      }
      this.toSpool(); // the store could not take it: the queue will, and will retry it
    }
    await this.entry!.commit();
    return 'queued';
  }

  /** Drops the message: nothing of it is kept. */
  async discard(): Promise<void> {
    this.release();
    await this.entry?.discard();
  }
}
