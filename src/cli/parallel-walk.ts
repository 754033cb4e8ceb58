/**
 * `queue list` over a deep folder, with no relay running, on two threads. Listing 100,000 entries
 * is 300,000 system calls (open, read and close each entry's head) plus decoding each head: about
 * 1.5 s of CPU on one thread. Here a worker thread (walk-worker.ts) reads some of the batches while
 * this thread reads the others and hands every batch over in order (walk-batches.ts): the same
 * items in the same order as `walkFolder` gives, streamed, with at most BATCHES_AHEAD batches read
 * ahead of the output. If the worker stops on an error, this thread reads what it had claimed.
 */
import fs from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { MessageChannel, Worker, receiveMessageOnPort } from 'node:worker_threads';
import { listFolderIds, summarizeListed, type QueueFilter } from '../spool/queue-listing.js';
import type { QueueFolder, Spool } from '../spool/spool.js';
import { idleCoresSince, sampleCpuTimes } from './idle-cores.js';
import { formatItems, type ListFormat } from './queue-list-format.js';
import {
  CELLS,
  FAILED,
  POSTED,
  WALK_BATCH,
  WRITTEN,
  claimBatch,
  type WalkBatchText,
} from './walk-batches.js';

/** Entries below which one thread lists the folder (starting the worker costs about 40 ms of CPU). */
export const PARALLEL_FROM = 4000;

/**
 * CPUs that must have been idle, on average, while the folder was listed for a worker to start:
 * with every core busy, two threads took 15–30 % more CPU time than one and were no faster.
 */
const MIN_IDLE_CORES = 0.5;

const WORKER = new URL('./walk-worker.js', import.meta.url);

/**
 * Whether a second thread can help: more than one CPU, and the worker's compiled module is there
 * (it is not when the sources run under the test runner, which then lists on one thread).
 */
export function parallelWalkAvailable(): boolean {
  return os.availableParallelism() > 1 && fs.existsSync(fileURLToPath(WORKER));
}

/**
 * Every matching entry of a folder (not bad/: its quarantined pickup files are listed by the queue
 * service), oldest first, formatted (queue-list-format.ts) and handed to `each` a batch at a time
 * as it is read, with the number of items in it; resolves with the folder's entry count and how
 * many batches the worker thread read. The worker helps from PARALLEL_FROM entries on, if a core
 * was idle while the folder was listed (idle-cores.ts). Each thread formats the batches it reads:
 * this one hands over text, whichever thread read it.
 */
export async function walkFolderInParallel(
  spool: Spool,
  folder: Exclude<QueueFolder, 'bad'>,
  filter: QueueFilter,
  format: ListFormat,
  each: (text: string, count: number) => void,
  now = Date.now(),
  options: {
    /** Entries from which a worker helps (PARALLEL_FROM). */
    parallelFrom?: number;
    /** Whether a worker is started only if a core was idle while the folder was listed (yes). */
    onlyWithIdleCore?: boolean;
  } = {},
): Promise<{ total: number; workerBatches: number }> {
  const cpuBefore = sampleCpuTimes();
  const listing = await listFolderIds(spool, folder);
  const idleCores = idleCoresSince(cpuBefore);
  const folderPath = spool.folder(folder);
  const total = listing.ids.length;
  const batches = Math.ceil(total / WALK_BATCH);
  const read = (batch: number): WalkBatchText => {
    const from = batch * WALK_BATCH;
    const to = Math.min(from + WALK_BATCH, total);
    const items = summarizeListed(folderPath, folder, listing, from, to, filter, now);
    return { batch, text: formatItems(items, format), count: items.length };
  };
  const handOver = (done: WalkBatchText) => {
    if (done.count > 0) each(done.text, done.count);
  };
  // unknown (too short a listing to tell, no counters): a worker is tried
  const coreFree =
    !(options.onlyWithIdleCore ?? true) || idleCores === undefined || idleCores >= MIN_IDLE_CORES;
  if (total < (options.parallelFrom ?? PARALLEL_FROM) || !coreFree) {
    for (let batch = 0; batch < batches; batch++) handOver(read(batch));
    return { total, workerBatches: 0 };
  }

  const shared = new Int32Array(new SharedArrayBuffer(CELLS * Int32Array.BYTES_PER_ELEMENT));
  const { port1, port2 } = new MessageChannel();
  const worker = new Worker(WORKER, {
    workerData: {
      spoolDir: spool.dir,
      folder,
      filter,
      format,
      now,
      shared,
      port: port2,
      job: { ids: listing.ids, journals: [...listing.journals] },
    },
    transferList: [port2],
  });
  worker.on('error', () => {}); // what it had claimed and not posted is read here
  try {
    const results = new Map<number, WalkBatchText>();
    let written = 0;
    let workerBatches = 0;
    while (written < batches) {
      const seen = Atomics.load(shared, POSTED);
      for (let m = receiveMessageOnPort(port1); m; m = receiveMessageOnPort(port1)) {
        const done = m.message as WalkBatchText;
        workerBatches++;
        if (done.batch >= written) results.set(done.batch, done);
      }
      const ready = results.get(written);
      if (ready || Atomics.load(shared, FAILED) === 1) {
        results.delete(written);
        handOver(ready ?? read(written));
        written++;
        Atomics.store(shared, WRITTEN, written);
        Atomics.notify(shared, WRITTEN);
        continue;
      }
      const batch = claimBatch(shared, batches);
      if (batch >= 0) results.set(batch, read(batch));
      // the next batch to hand over is the worker's, and nothing more may be read ahead: wait for it
      else Atomics.wait(shared, POSTED, seen, 1000);
    }
    return { total, workerBatches };
  } finally {
    port1.close();
    void worker.terminate();
  }
}
