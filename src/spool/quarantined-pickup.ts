/**
 * Pickup files that could not be taken in (no valid X-Receiver, header block over the limit) are
 * moved to bad/ as they were, named `<queue-id>-<name>` (event 4116). They are not spool entries,
 * but the queue tools treat them like the entries in bad/: listed, shown, deleted, and replayed —
 * put back into pickup/ under their old name, to be taken in again once the file has been fixed.
 */
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Envelope } from '../message/envelope.js';
import { pickupEnvelope } from './pickup-envelope.js';
import { openRegularFile } from './regular-file.js';
import { exists, type Spool } from './spool.js';

const NAME = /^([0-9A-F]{11}-[0-9A-F]{5}-[0-9A-F]{4})-(.+)$/;
const HEAD_BYTES = 64 * 1024;

export interface QuarantinedPickup {
  queueId: string;
  /** The name the file had in pickup/. */
  pickupName: string;
  /** Its path in bad/. */
  file: string;
}

/** The quarantined pickup files in bad/, by queue ID. */
export async function listQuarantinedPickups(spool: Spool): Promise<QuarantinedPickup[]> {
  const bad = spool.folder('bad');
  const found: QuarantinedPickup[] = [];
  for (const name of await fsp.readdir(bad)) {
    const m = NAME.exec(name);
    if (m) found.push({ queueId: m[1]!, pickupName: m[2]!, file: path.join(bad, name) });
  }
  return found.sort((a, b) => (a.queueId < b.queueId ? -1 : a.queueId > b.queueId ? 1 : 0));
}

export async function findQuarantinedPickup(
  spool: Spool,
  queueId: string,
): Promise<QuarantinedPickup | undefined> {
  return (await listQuarantinedPickups(spool)).find((q) => q.queueId === queueId);
}

/**
 * What the file's leading X-Sender/X-Receiver lines say, as an envelope (with the recipients that
 * parse; none when that is why it was quarantined), and its size and time.
 */
export async function describeQuarantinedPickup(
  q: QuarantinedPickup,
): Promise<{ envelope: Envelope; size: number; arrivedAt: string }> {
  // a symbolic link, FIFO or directory quarantined as such is described, never opened or followed
  const opened = await openRegularFile(q.file);
  let head = '';
  let stat: { size: number; mtime: Date };
  if (!opened.ok) {
    stat = { size: 0, mtime: (await fsp.lstat(q.file)).mtime };
  } else {
    const { handle } = opened;
    try {
      stat = await handle.stat();
      const bytes = Buffer.alloc(Math.min(stat.size, HEAD_BYTES));
      await handle.read(bytes, 0, bytes.length, 0);
      head = bytes.toString('utf8');
    } finally {
      await handle.close();
    }
  }
  let sender = '';
  const recipients: string[] = [];
  for (const line of head.split(/\r?\n/)) {
    const m = /^X-(Sender|Receiver):\s*<?([^<>\s]*)>?\s*$/i.exec(line);
    if (!m) break;
    if (m[1]!.toLowerCase() === 'sender') sender = m[2]!;
    else if (m[2]) recipients.push(m[2]);
  }
  const arrivedAt = stat.mtime.toISOString();
  return {
    envelope: pickupEnvelope(q.queueId, arrivedAt, sender, recipients),
    size: stat.size,
    arrivedAt,
  };
}

/**
 * Puts a quarantined file back into pickup/ under its old name (or `<queue-id>-<name>` when that
 * name is taken), where the next scan takes it in. Returns the name it has there.
 */
export async function returnToPickup(spool: Spool, q: QuarantinedPickup): Promise<string> {
  const pickup = spool.folder('pickup');
  let name = q.pickupName.endsWith('.eml') ? q.pickupName : `${q.pickupName}.eml`;
  if (await exists(path.join(pickup, name))) name = `${q.queueId}-${name}`;
  await fsp.rename(q.file, path.join(pickup, name));
  return name;
}
