/**
 * The second thread of a parallel `queue list` (parallel-walk.ts): reads the batches of the folder
 * it claims and posts their text, formatted as the main thread formats its own. Runs only as a
 * worker thread.
 */
import fs from 'node:fs';
import path from 'node:path';
import { workerData, type MessagePort } from 'node:worker_threads';
import { summarizeListed, type QueueFilter } from '../spool/queue-listing.js';
import type { QueueFolder } from '../spool/queue-folders.js';
import {
  FAILED,
  NONE_LEFT,
  POSTED,
  TOO_FAR_AHEAD,
  WALK_BATCH,
  WRITTEN,
  claimBatch,
  type WalkBatchText,
  type WalkJob,
} from './walk-batches.js';
import { formatItems, type ListFormat } from './queue-list-format.js';

interface WorkerData {
  spoolDir: string;
  folder: QueueFolder;
  filter: QueueFilter;
  format: ListFormat;
  now: number;
  shared: Int32Array;
  port: MessagePort;
  job: WalkJob;
}

const { spoolDir, folder, filter, format, now, shared, port, job } = workerData as WorkerData;

try {
  // the folder the main thread has listed (Spool.folder's path), without loading the spool's code
  const folderPath = path.join(spoolDir, folder);
  if (!fs.statSync(folderPath).isDirectory()) throw new Error(`${folderPath} is not a folder`);
  const listing = { ids: job.ids, journals: new Set(job.journals) };
  const batches = Math.ceil(listing.ids.length / WALK_BATCH);
  for (;;) {
    const written = Atomics.load(shared, WRITTEN);
    const batch = claimBatch(shared, batches);
    if (batch === NONE_LEFT) break;
    if (batch === TOO_FAR_AHEAD) {
      Atomics.wait(shared, WRITTEN, written, 1000);
      continue;
    }
    const from = batch * WALK_BATCH;
    const to = Math.min(from + WALK_BATCH, listing.ids.length);
    const items = summarizeListed(folderPath, folder, listing, from, to, filter, now);
    const done: WalkBatchText = { batch, text: formatItems(items, format), count: items.length };
    port.postMessage(done);
    Atomics.add(shared, POSTED, 1);
    Atomics.notify(shared, POSTED);
  }
} catch {
  // the main thread reads whatever this thread claimed and did not post
  Atomics.store(shared, FAILED, 1);
  Atomics.notify(shared, POSTED);
}
port.close();
