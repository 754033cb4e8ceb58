/**
 * The relay as a list of parts (relay.ts lists them): each is started in order and knows how to
 * stop. When one cannot start, the parts already started are stopped in reverse order; stopping
 * the running relay is the same path, with time for the work in flight.
 */
export interface RelayPart {
  /** What the part is (`spool`, `SMTP listeners`, …). */
  name: string;
  /**
   * Starts the part. A message says why it could not, an expected outcome (a busy port, an
   * unreadable file); the part then leaves nothing behind. Absent: the part only has a stop.
   */
  start?(): void | string | Promise<void | string>;
  /** Stops the part; work in flight may go on for up to `graceMs` (0 after a failed start). */
  stop?(graceMs: number): void | Promise<void>;
}

export type StartedParts =
  | {
      ok: true;
      /** Stops every part in reverse order; idempotent (a second call gets the first one's promise). */
      stop(graceMs: number): Promise<void>;
    }
  | { ok: false; message: string };

/**
 * Starts `parts` in order. A part that cannot start stops the ones before it (reverse order, no
 * grace) and its message is the result; a part whose start throws does the same, and the error
 * goes on to the caller. Every stop runs even when one before it throws; the first error is
 * thrown at the end.
 */
export async function startParts(parts: readonly RelayPart[]): Promise<StartedParts> {
  const started: RelayPart[] = [];
  const stopStarted = async (graceMs: number): Promise<void> => {
    const errors: unknown[] = [];
    while (started.length > 0) {
      const part = started.pop()!;
      try {
        await part.stop?.(graceMs);
      } catch (err) {
        errors.push(err);
      }
    }
    if (errors.length > 0) throw errors[0];
  };
  for (const part of parts) {
    let outcome: void | string;
    try {
      outcome = await part.start?.();
    } catch (err) {
      await stopStarted(0).catch(() => undefined);
      throw err;
    }
    if (typeof outcome === 'string') {
      await stopStarted(0);
      return { ok: false, message: outcome };
    }
    started.push(part);
  }
  let stopping: Promise<void> | undefined;
  return { ok: true, stop: (graceMs) => (stopping ??= stopStarted(graceMs)) };
}
