/**
 * Decides at MAIL whether the spool has room for another message: free space on its file system
 * must stay above the threshold. Reads free space at most once per `maxAgeMs` (statfs is cheap, but
 * not free at thousands of messages per second) and reports each low-space episode once: when it
 * starts and when it ends.
 */
export interface FreeSpaceEvents {
  low(freeBytes: number, threshold: number): void;
  recovered(freeBytes: number, threshold: number): void;
}

export class FreeSpaceGuard {
  private checkedAt = -Infinity;
  private low = false;
  private pending: Promise<void> | undefined;

  constructor(
    private readonly measure: () => Promise<number>,
    private readonly threshold: number,
    private readonly events: FreeSpaceEvents,
    private readonly maxAgeMs = 500,
  ) {}

  /** True when there is room for a new message. Never rejects: a failed measurement allows mail. */
  async hasRoom(): Promise<boolean> {
    if (this.threshold <= 0) return true;
    if (performance.now() - this.checkedAt > this.maxAgeMs) await this.refresh();
    return !this.low;
  }

  /** Measures now (e.g. after a write failed for lack of space). */
  refresh(): Promise<void> {
    this.pending ??= this.measure()
      .then(
        (free) => {
          const low = free < this.threshold;
          if (low && !this.low) this.events.low(free, this.threshold);
          if (!low && this.low) this.events.recovered(free, this.threshold);
          this.low = low;
        },
        () => undefined,
      )
      .finally(() => {
        this.checkedAt = performance.now();
        this.pending = undefined;
      });
    return this.pending;
  }
}
