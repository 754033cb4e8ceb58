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

export class QueueIdGenerator {
  private lastTime = 0;
  private sequence = 0;

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
      crypto.randomBytes(2).toString('hex').toUpperCase()
    );
  }
}
