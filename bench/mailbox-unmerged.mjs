#!/usr/bin/env node
// What a mailbox query (`to=`) costs while recipient rows wait to be merged into mailbox_index, and
// what the merge costs: a store index with 10,000 merged messages of 3 recipients, then messages
// of 1,000 recipients added unmerged up to 50,000, 100,000, 250,000 and 500,000 waiting rows; at
// each, the median of 9 first pages of one mailbox; then the CPU time of merging them all.
// (message-store.ts merges at once past 250,000 waiting rows, else after a pause.)
// Usage: node bench/mailbox-unmerged.mjs [--root DIR]   (needs a build). Prints one JSON line.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { syntheticRecord } from './lib/synthetic-captures.mjs';

const args = process.argv.slice(2);
const i = args.indexOf('--root');
const root = path.resolve(
  i >= 0 ? args[i + 1] : path.join(path.dirname(fileURLToPath(import.meta.url)), '..'),
);
const { StoreIndex } = await import(path.join(root, 'dist/store/store-index.js'));
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ims-unmerged-'));
const index = new StoreIndex(path.join(dir, 'index.sqlite'));
let k = 0;
const record = (rcpts) => {
  const n = k++;
  return syntheticRecord(n, {
    recipients: Array.from({ length: rcpts }, (_, j) => `user${(n * 7 + j) % 100_000}@example.test`),
    capturedAt: Date.now(),
    size: 500,
    text: 'x',
  });
};
const pageMs = {};
try {
  for (let n = 0; n < 10_000; n += 100) index.insert(Array.from({ length: 100 }, () => record(3)));
  while (index.mergeMailboxes() > 0);
  for (const waiting of [50_000, 100_000, 250_000, 500_000]) {
    while (index.unmergedRecipients() < waiting) index.insert([record(1000)]);
    const times = [];
    for (let q = 0; q < 9; q++) {
      const t = performance.now();
      index.list({ to: `user${q * 11}@example.test` }, 50);
      times.push(performance.now() - t);
    }
    times.sort((a, b) => a - b);
    pageMs[index.unmergedRecipients()] = Number(times[4].toFixed(1));
  }
  const waiting = index.unmergedRecipients();
  const c0 = process.cpuUsage();
  while (index.mergeMailboxes() > 0);
  const c = process.cpuUsage(c0);
  console.log(
    JSON.stringify({
      root,
      mailboxPageMsByWaitingRows: pageMs,
      mergedRows: waiting,
      mergeCpuMs: Math.round((c.user + c.system) / 1000),
    }),
  );
} finally {
  index.close();
  fs.rmSync(dir, { recursive: true, force: true });
}
