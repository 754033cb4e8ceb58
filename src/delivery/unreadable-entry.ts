/**
 * A spool entry that cannot be read for now — locked by an antivirus scanner or a backup (EBUSY,
 * EACCES, EPERM: the lock of Q317653), or the process is out of descriptors. It is not the
 * message's fault and not a processing failure: the attempt ends as a deferral, with the same
 * back-off as any other (`--retry-initial` doubling up to `--retry-max`), and the entry is tried
 * for the message's whole lifetime (`--lifetime`, counted from when the entry was committed, since
 * its envelope cannot be read). Only when the lifetime is over does it go to bad/ (event 4116);
 * should it become readable after that, the normal path bounces its recipients (4.4.7).
 */
import { formatDuration } from '../config/duration.js';
import type { EventLog } from '../events/event-log.js';
import type { JournalRecord, JournalState } from '../spool/recipient-journal.js';
import type { QueueFolder, Spool } from '../spool/spool.js';
import { isExpired, nextAttemptAt, type RetryPolicy } from './retry-schedule.js';

export type UnreadableOutcome =
  { kind: 'retry'; at: Date; pending: number } | { kind: 'expired'; reason: string };

export async function deferUnreadable(
  spool: Spool,
  folder: QueueFolder,
  queueId: string,
  state: JournalState,
  reason: string,
  code: string | undefined,
  context: {
    retry: RetryPolicy;
    now: Date;
    append: (records: JournalRecord[]) => Promise<void>;
    events: EventLog;
  },
): Promise<UnreadableOutcome> {
  const { retry, now, append, events } = context;
  const committedAt = (await spool.entryCommittedAt(folder, queueId)) ?? now;
  const attempt = state.attempts + 1;
  if (isExpired(retry, committedAt, now)) {
    await append([{ t: 'attempt-end', at: new Date().toISOString() }]);
    return {
      kind: 'expired',
      reason: `the spool entry could not be read for its whole lifetime (${formatDuration(retry.lifetime)}, ${attempt} attempts): ${reason}`,
    };
  }
  const at = nextAttemptAt(retry, committedAt, attempt, now);
  // the attempt ended (nothing crashed): it is a deferral, not a processing failure
  await append([
    { t: 'attempt-end', at: new Date().toISOString() },
    { t: 'retry', at: at.toISOString() },
  ]);
  events.emit('entryUnreadable', {
    queueId,
    detail: `${reason}; attempt ${attempt}, next at ${at.toISOString()}.`,
    data: { error: reason, code, attempt, retryAt: at.toISOString(), folder },
  });
  return { kind: 'retry', at, pending: 0 };
}
