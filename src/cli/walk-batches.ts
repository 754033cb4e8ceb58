/**
 * How the two threads of a parallel `queue list` (parallel-walk.ts, walk-worker.ts) share a folder's
 * sorted listing: it is cut into batches of WALK_BATCH entries, and each thread claims the next
 * batch from a counter in shared memory, so the faster thread reads more of them. The batches are
 * handed over in order; a thread claims no batch more than BATCHES_AHEAD past the first one not yet
 * handed over, so what has been read and not yet written out stays bounded.
 */

/** Entries a claim covers. */
export const WALK_BATCH = 500;
/** Batches claimed beyond the first one not yet handed over, at most (8,000 items read ahead). */
export const BATCHES_AHEAD = 16;

/** The cells of the shared Int32Array. */
export const NEXT = 0; // the next batch to claim
export const WRITTEN = 1; // batches handed over, in order
export const POSTED = 2; // batches the worker has posted (it notifies on this cell)
export const FAILED = 3; // 1 if the worker stopped on an error
export const CELLS = 4;

/** No batch is left to claim. */
export const NONE_LEFT = -1;
/** The next batch is too far ahead of what has been handed over: wait for WRITTEN to move. */
export const TOO_FAR_AHEAD = -2;

/** Claims the next batch of `batches`: its number, NONE_LEFT or TOO_FAR_AHEAD. */
export function claimBatch(shared: Int32Array, batches: number): number {
  for (;;) {
    const k = Atomics.load(shared, NEXT);
    if (k >= batches) return NONE_LEFT;
    if (k >= Atomics.load(shared, WRITTEN) + BATCHES_AHEAD) return TOO_FAR_AHEAD;
    if (Atomics.compareExchange(shared, NEXT, k, k + 1) === k) return k;
  }
}

/** What the worker is sent, once the folder has been listed. */
export interface WalkJob {
  ids: string[];
  journals: string[];
}

/** A batch read and formatted: what the worker posts, and what the main thread hands over. */
export interface WalkBatchText {
  batch: number;
  /** The items' text (queue-list-format.ts). */
  text: string;
  /** How many items it holds. */
  count: number;
}
