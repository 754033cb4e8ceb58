/**
 * What the queue tools do to spool entries (list, show, retry, hold, release, delete, replay), as
 * file operations on the spool. Used by the CLI on a spool no relay runs on (it holds the spool
 * lock meanwhile) and by the admin API inside a running relay (which also tells its delivery
 * queue). Every outcome is a value; nothing here throws for an unknown ID or a wrong folder.
 */
import { isQueueId } from './queue-id.js';
import type { JournalRecord } from './recipient-journal.js';
import { QUEUE_FOLDERS, type QueueFolder, type Spool } from './spool.js';

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
}

export type OperationFailure = {
  ok: false;
  status: 'not-found' | 'conflict' | 'bad-request';
  message: string;
};
export type OperationResult =
  { ok: true; queueId: string; folder: QueueFolder; message: string } | OperationFailure;

export async function summarize(
  spool: Spool,
  folder: QueueFolder,
  queueId: string,
): Promise<QueueItem | undefined> {
  const head = await spool.readEntryHead(folder, queueId);
  if (!head.ok) return undefined;
  const journal = await spool.readJournal(folder, queueId).catch(() => undefined);
  let failed = 0;
  for (const r of journal?.done.values() ?? []) if (r.action === 'failed') failed++;
  const last = [...(journal?.deferred.values() ?? [])].pop();
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
    ...(last?.diagnostic ? { lastError: last.diagnostic } : {}),
  };
}

/** A page of a folder, oldest first. */
export async function listFolder(
  spool: Spool,
  folder: QueueFolder,
  page: { offset?: number; limit?: number } = {},
): Promise<{ total: number; items: QueueItem[] }> {
  const ids = await spool.list(folder);
  const offset = Math.max(0, page.offset ?? 0);
  const slice = ids.slice(offset, page.limit === undefined ? undefined : offset + Math.max(0, page.limit));
  const items: QueueItem[] = [];
  for (const id of slice) {
    const item = await summarize(spool, folder, id);
    if (item) items.push(item);
  }
  return { total: ids.length, items };
}

/** The folder an entry is in, or a result that says it is not there. */
export async function findEntry(
  spool: Spool,
  queueId: string,
): Promise<{ ok: true; folder: QueueFolder } | OperationFailure> {
  if (!isQueueId(queueId))
    return {
      ok: false,
      status: 'bad-request',
      message: `"${queueId}" is not a queue ID (e.g. 19A9D54B1F0-00003-7C1E)`,
    };
  const folder = await spool.locate(queueId);
  if (!folder)
    return {
      ok: false,
      status: 'not-found',
      message: `no message ${queueId} in ${QUEUE_FOLDERS.join('/, ')}/`,
    };
  return { ok: true, folder };
}

async function appendTo(
  spool: Spool,
  folder: QueueFolder,
  queueId: string,
  records: JournalRecord[],
): Promise<void> {
  const journal = await spool.openJournal(folder, queueId);
  try {
    await journal.append(records);
  } finally {
    await journal.close();
  }
}

const ACTIVE: readonly QueueFolder[] = ['in', 'out'];

/** Makes a queued entry due now. */
export async function retryEntry(spool: Spool, queueId: string): Promise<OperationResult> {
  const found = await findEntry(spool, queueId);
  if (!found.ok) return found;
  if (!ACTIVE.includes(found.folder)) {
    return {
      ok: false,
      status: 'conflict',
      message: `${queueId} is in ${found.folder}/, not queued: use replay to queue it again`,
    };
  }
  await appendTo(spool, found.folder, queueId, [{ t: 'retry', at: new Date().toISOString() }]);
  return { ok: true, queueId, folder: found.folder, message: `${queueId} is due for delivery now` };
}

export async function holdEntry(spool: Spool, queueId: string, hold: boolean): Promise<OperationResult> {
  const found = await findEntry(spool, queueId);
  if (!found.ok) return found;
  if (!ACTIVE.includes(found.folder)) {
    return { ok: false, status: 'conflict', message: `${queueId} is in ${found.folder}/, not queued` };
  }
  const at = new Date().toISOString();
  await appendTo(spool, found.folder, queueId, [
    hold ? { t: 'hold', at } : { t: 'release', at },
    ...(hold ? [] : [{ t: 'retry' as const, at }]),
  ]);
  return {
    ok: true,
    queueId,
    folder: found.folder,
    message: `${queueId} ${hold ? 'is held: it is not delivered until released' : 'is released'}`,
  };
}

export async function deleteEntry(spool: Spool, queueId: string): Promise<OperationResult> {
  const found = await findEntry(spool, queueId);
  if (!found.ok) return found;
  await spool.removeEntry(found.folder, queueId);
  return { ok: true, queueId, folder: found.folder, message: `${queueId} deleted from ${found.folder}/` };
}

/**
 * Puts an entry from bad/ or archive/ back into in/ for a new delivery to all its recipients
 * (Q197792's "replay the messages"); its old journal is removed with it.
 */
export async function replayEntry(spool: Spool, queueId: string): Promise<OperationResult> {
  const found = await findEntry(spool, queueId);
  if (!found.ok) return found;
  if (ACTIVE.includes(found.folder)) {
    return {
      ok: false,
      status: 'conflict',
      message: `${queueId} is already queued in ${found.folder}/: use retry`,
    };
  }
  await spool.replay(queueId, found.folder);
  return { ok: true, queueId, folder: 'in', message: `${queueId} replayed from ${found.folder}/ into in/` };
}
