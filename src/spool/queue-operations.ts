/**
 * What the queue tools do to spool entries (list, show, retry, hold, release, delete, replay), as
 * file operations on the spool. Used by the CLI on a spool no relay runs on (it holds the spool
 * lock meanwhile) and by the admin API inside a running relay (which also tells its delivery
 * queue). Every outcome is a value; nothing here throws for an unknown ID or a wrong folder.
 */
import fsp from 'node:fs/promises';
import { isQueueId } from './queue-id.js';
import {
  describeQuarantinedPickup,
  findQuarantinedPickup,
  listQuarantinedPickups,
  returnToPickup,
  type QuarantinedPickup,
} from './quarantined-pickup.js';
import { queueItem, type QueueItem } from './queue-item.js';
import type { JournalRecord } from './recipient-journal.js';

export { queueItem, type QueueItem };
import { QUEUE_FOLDERS, type QueueFolder, type Spool } from './spool.js';

export type OperationFailure = {
  ok: false;
  status: 'not-found' | 'conflict' | 'bad-request';
  message: string;
};
export type OperationResult =
  | {
      ok: true;
      queueId: string;
      folder: QueueFolder;
      message: string;
      /** A replayed quarantined pickup file: it went back to pickup/, not into in/. */
      pickup?: true;
    }
  | OperationFailure;

export async function summarize(
  spool: Spool,
  folder: QueueFolder,
  queueId: string,
): Promise<QueueItem | undefined> {
  const head = await spool.readEntryHead(folder, queueId);
  if (!head.ok) return undefined;
  const journal = await spool.readJournal(folder, queueId).catch(() => undefined);
  return queueItem(queueId, folder, head, journal);
}

/** A quarantined pickup file as a queue item. */
export async function summarizeQuarantined(q: QuarantinedPickup): Promise<QueueItem | undefined> {
  const described = await describeQuarantinedPickup(q).catch(() => undefined);
  if (!described) return undefined;
  return {
    queueId: q.queueId,
    folder: 'bad',
    arrivedAt: described.arrivedAt,
    sender: described.envelope.sender,
    recipients: described.envelope.recipients.length,
    size: described.size,
    source: 'pickup',
    attempts: 0,
    delivered: 0,
    failed: 0,
    deferred: 0,
    held: false,
    pickupFile: q.pickupName,
  };
}

/** A page of a folder, oldest first; bad/ also lists the quarantined pickup files. */
export async function listFolder(
  spool: Spool,
  folder: QueueFolder,
  page: { offset?: number; limit?: number } = {},
): Promise<{ total: number; items: QueueItem[] }> {
  const quarantined = new Map(
    folder === 'bad' ? (await listQuarantinedPickups(spool)).map((q) => [q.queueId, q] as const) : [],
  );
  const ids = [...(await spool.list(folder)), ...quarantined.keys()].sort();
  const offset = Math.max(0, page.offset ?? 0);
  const slice = ids.slice(offset, page.limit === undefined ? undefined : offset + Math.max(0, page.limit));
  const items: QueueItem[] = [];
  for (const id of slice) {
    const q = quarantined.get(id);
    const item = q ? await summarizeQuarantined(q) : await summarize(spool, folder, id);
    if (item) items.push(item);
  }
  return { total: ids.length, items };
}

/**
 * The folder an entry is in, or a result that says it is not there. A quarantined pickup file is
 * found in bad/, with `pickup` saying which file it is.
 */
export async function findEntry(
  spool: Spool,
  queueId: string,
): Promise<{ ok: true; folder: QueueFolder; pickup?: QuarantinedPickup } | OperationFailure> {
  if (!isQueueId(queueId))
    return {
      ok: false,
      status: 'bad-request',
      message: `"${queueId}" is not a queue ID (e.g. 19A9D54B1F0-00003-7C1E)`,
    };
  const folder = await spool.locate(queueId);
  if (!folder) {
    const pickup = await findQuarantinedPickup(spool, queueId);
    if (pickup) return { ok: true, folder: 'bad', pickup };
  }
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
  if ((await spool.readJournal(found.folder, queueId)).held) {
    // a retry does not override a hold: say so, and how to release it
    return {
      ok: false,
      status: 'conflict',
      message: `${queueId} is held, so it is not delivered: release it with \`ims-relay queue release ${queueId}\` (POST /api/v1/messages/${queueId}/release), which delivers it now`,
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
  if (found.pickup) {
    await fsp.rm(found.pickup.file, { force: true });
    return {
      ok: true,
      queueId,
      folder: 'bad',
      message: `${queueId} (pickup file ${found.pickup.pickupName}) deleted from bad/`,
    };
  }
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
  if (found.pickup) {
    const name = await returnToPickup(spool, found.pickup);
    return {
      ok: true,
      queueId,
      folder: 'bad',
      pickup: true,
      message: `${queueId} (pickup file ${found.pickup.pickupName}) put back into pickup/ as ${name}: it is taken in at the next scan, or quarantined again if it still has no valid X-Receiver: line`,
    };
  }
  await spool.replay(queueId, found.folder);
  return { ok: true, queueId, folder: 'in', message: `${queueId} replayed from ${found.folder}/ into in/` };
}
