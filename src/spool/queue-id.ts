import crypto from 'node:crypto';

/**
 * Queue IDs: `TTTTTTTTTTT-SSSSS-RRRR` in upper-case hex — milliseconds since the epoch, a
 * per-process sequence and a random part. They sort by arrival, are unique across restarts, and
 * never contain anything a client sent, so they are safe to use as file names.
 */
export const QUEUE_ID_PATTERN = /^[0-9A-F]{11}-[0-9A-F]{5}-[0-9A-F]{4}$/;

export function isQueueId(value: string): boolean {
  return QUEUE_ID_PATTERN.test(value);
}

/** Random bytes drawn at a time: one call into the CSPRNG per 2,048 IDs instead of one per ID. */
const RANDOM_POOL_BYTES = 4096;

export class QueueIdGenerator {
  private lastTime = 0;
  private sequence = 0;
  private readonly random = Buffer.alloc(RANDOM_POOL_BYTES);
  private randomAt = RANDOM_POOL_BYTES;

  constructor(private readonly now: () => number = Date.now) {}

  next(): string {
    // never go back in time, so that IDs keep sorting by arrival when the clock is stepped back
    const time = Math.max(this.now(), this.lastTime);
    if (time !== this.lastTime) {
      this.lastTime = time;
      this.sequence = 0;
    } else if (++this.sequence > 0xfffff) {
      this.lastTime = time + 1;
      this.sequence = 0;
    }
    return (
      this.lastTime.toString(16).toUpperCase().padStart(11, '0') +
      '-' +
      this.sequence.toString(16).toUpperCase().padStart(5, '0') +
      '-' +
      this.randomPart()
    );
  }

  /** Four upper-case hex digits from the pool, refilled when it runs out. */
  private randomPart(): string {
    if (this.randomAt + 2 > RANDOM_POOL_BYTES) {
      crypto.randomFillSync(this.random);
      this.randomAt = 0;
    }
    const value = this.random.readUInt16BE(this.randomAt);
    this.randomAt += 2;
    return value.toString(16).toUpperCase().padStart(4, '0');
  }
}
