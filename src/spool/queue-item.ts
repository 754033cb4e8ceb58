/**
 * One queue entry as the queue tools list it, and how it is made from the entry's head and
 * journal: on its own, so that listing a folder loads none of the code that moves entries.
 */
import type { Envelope } from '../message/envelope.js';
import type { QueueFolder } from './queue-folders.js';
import type { JournalState } from './recipient-journal.js';

export interface QueueItem {
  queueId: string;
  folder: QueueFolder;
  arrivedAt: string;
  sender: string;
  recipients: number;
  /** Message size in bytes. */
  size: number;
  source: string;
  attempts: number;
  delivered: number;
  failed: number;
  deferred: number;
  held: boolean;
  retryAt?: string;
  /** The latest temporary failure, if any. */
  lastError?: string;
  /** A pickup file quarantined in bad/ (not a spool entry): the name it had in pickup/. */
  pickupFile?: string;
}

/** The list item of an entry, from its envelope head and its journal (none: never attempted). */
export function queueItem(
  queueId: string,
  folder: QueueFolder,
  head: { envelope: Envelope; messageBytes: number },
  journal: JournalState | undefined,
): QueueItem {
  let failed = 0;
  for (const r of journal?.done.values() ?? []) if (r.action === 'failed') failed++;
  let last: string | undefined;
  for (const d of journal?.deferred.values() ?? []) last = d.diagnostic ?? last;
  return {
    queueId,
    folder,
    arrivedAt: head.envelope.arrivedAt,
    sender: head.envelope.sender,
    recipients: head.envelope.recipients.length,
    size: head.messageBytes,
    source: head.envelope.source,
    attempts: journal?.attempts ?? 0,
    delivered: (journal?.done.size ?? 0) - failed,
    failed,
    deferred: journal?.deferred.size ?? 0,
    held: journal?.held ?? false,
    ...(journal?.retryAt ? { retryAt: journal.retryAt.toISOString() } : {}),
    ...(last ? { lastError: last } : {}),
  };
}
