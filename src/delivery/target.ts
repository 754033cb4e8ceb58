/**
 * Where the delivery agent hands a message's pending recipients: the next hop (relay mode,
 * upstream-target.ts) or the local capture (the message store, with a Maildir per recipient beside
 * it under --maildir; local-target.ts). One contract, checked for every implementation by one
 * case suite (test/targets/):
 *   - every outcome is a value, one per address (delivered, temporary or permanent), never an
 *     exception;
 *   - outcomes are handed to `record` as each batch or transaction ends, and the target waits for
 *     `record` (the journal, made durable) before the next one, so a crash in the middle delivers
 *     no finished part again;
 *   - delivering the same message again (same queue ID) after a crash makes no second copy where
 *     the target can tell (a capture, a Maildir link), and loses none;
 *   - `stopping()` is looked at between batches: a stopped delivery leaves the rest unrecorded
 *     (pending), never failed.
 */
import type { RecipientAttempt } from './delivery-result.js';

export interface TargetDelivery {
  queueId: string;
  sender: string;
  arrivedAt: Date;
  message: Buffer;
  /** Distinct recipients (compared case-insensitively) still to deliver. */
  addresses: string[];
}

export interface TargetProgress {
  /** Makes a batch's outcomes durable; awaited before the next batch. */
  record(attempts: RecipientAttempt[]): Promise<void>;
  /** True once the relay stops: no further batch is started. */
  stopping(): boolean;
  /**
   * Called when a local batch's copies are made (before its fsyncs), with the count of addresses
   * made so far: a lone attempt leaves a progress mark (poison-isolation.ts).
   */
  linked?(count: number): void;
  /** Called at most once, when all that is left of the last batch is waiting for the disk. */
  waitingForDisk?(): void;
}

export interface Target {
  /** What the journal says of a recipient this target took: delivered here or relayed on. */
  readonly doneAction: 'delivered' | 'relayed';
  deliver(delivery: TargetDelivery, progress: TargetProgress): Promise<void>;
  close(): Promise<void>;
}
