#!/usr/bin/env node
// CPU time of the message store's index on the capture path, without SMTP or the spool: a loop
// over StoreIndex.insert in capture-like batches, with the message count read after each batch as
// the store's flush does (for retention), then the background work the captures leave (full-text
// rows, the merge into mailbox_index). Run it against two builds to compare them (the CPU time is
// steadier than wall time on a shared machine).
// Usage: node bench/store-insert-cpu.mjs E2|E3|big|pickup [--prefill N] [--root DIR]
//   E2: 2,000 messages x 1 recipient in batches of 4; E3: 200 x 100 in batches of 4;
//   big: 1 x 32,766; pickup: 1 x 100,000. --prefill N puts N messages of 3 recipients into the
//   index first (10,000: the default retention limit). --root: the checkout whose dist/ is used.
// Needs a build (npm run build). Prints one JSON line.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { syntheticRecord } from './lib/synthetic-captures.mjs';

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const kase = args[0];
const PLANS = { E2: [2000, 1, 4], E3: [200, 100, 4], big: [1, 32_766, 1], pickup: [1, 100_000, 1] };
if (!PLANS[kase]) {
  console.error('usage: node bench/store-insert-cpu.mjs E2|E3|big|pickup [--prefill N] [--root DIR]');
  process.exit(2);
}
const root = path.resolve(opt('--root', path.join(path.dirname(fileURLToPath(import.meta.url)), '..')));
const prefill = Number(opt('--prefill', '0'));
const { StoreIndex } = await import(path.join(root, 'dist/store/store-index.js'));
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ims-insert-cpu-'));
const index = new StoreIndex(path.join(dir, 'index.sqlite'));
let k = 0;
const record = (rcpts) => {
  const i = k++;
  return syntheticRecord(i, {
    recipients: Array.from({ length: rcpts }, (_, j) => `user${(i * 7 + j) % 100_000}@example.test`),
    capturedAt: Date.now(),
    size: 500,
    text: `Message ${i} body text with a few words in it.`,
  });
};
// builds before count() read the count with totals()
const count = () => (index.count ? index.count() : index.totals().messages);
try {
  for (let i = 0; i < prefill; i += 100) index.insert(Array.from({ length: 100 }, () => record(3)));
  while (index.mergeMailboxes() > 0);
  const [messages, rcpts, batch] = PLANS[kase];
  const c0 = process.cpuUsage();
  for (let i = 0; i < messages; i += batch) {
    index.insert(Array.from({ length: Math.min(batch, messages - i) }, () => record(rcpts)));
    count();
  }
  const inserted = process.cpuUsage(c0);
  // the background work the captures leave: full-text rows (builds that write them at the capture
  // have no indexText) and the mailbox merge
  if (index.indexText) while (index.indexText(2000) > 0);
  while (index.mergeMailboxes() > 0);
  const merged = process.cpuUsage(c0);
  const ms = (u) => Math.round((u.user + u.system) / 1000);
  console.log(
    JSON.stringify({ kase, prefill, root, insertCpuMs: ms(inserted), withBackgroundCpuMs: ms(merged) }),
  );
} finally {
  index.close();
  fs.rmSync(dir, { recursive: true, force: true });
}
