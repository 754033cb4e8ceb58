#!/usr/bin/env node
// The message store's goals of docs/performance.md ("The message store"), each on a fresh relay
// (`ims-relay serve`, default settings, capture mode) with its own temporary spool:
//   - idle: what the store adds to memory, two ways: in one process, RSS (after a GC) before and
//     after opening (code loaded already) a store of --store-messages messages (default 100,000; made once, straight
//     into the files and the index); and the RSS of an idle relay (capture mode, settled 1.5 s)
//     over that store against one over an empty spool, medians of --idle-runs (default 3) each;
//   - big: one message to 32,766 recipients over SMTP (pipelined), captured: the final dot -> event
//     1101 (delivered: the capture durable and indexed), and the file size against
//     the message size;
//   - pickup: one pickup file to 100,000 recipients that all succeed: event 1110 (picked up)
//     -> event 1101.
// For big and pickup it also gives the relay's CPU time (user + system, from /proc) from the send
// (the drop) to event 1101, and 2.5 s later (with the background merge of mailbox_index): steadier
// than the wall times on a shared machine.
//   - api: the first page of GET /api/v1/mail, a full-text query and a mailbox over a store of
//     --store-messages messages (medians of --api-runs, default 21).
// Usage: node bench/store-goals.mjs [--only idle,api,big,pickup] [--idle-runs N] [--store-messages N]
//        [--pickup-rcpts N] [--api-runs N]
// Needs a build (npm run build). Prints one line per figure and a JSON summary at the end.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { syntheticQueueId, syntheticRecord } from './lib/synthetic-captures.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(ROOT, 'bin/ims-relay.js');
const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const only = opt('--only', 'idle,api,big,pickup').split(',');
const API_RUNS = Number(opt('--api-runs', '21'));
const IDLE_RUNS = Number(opt('--idle-runs', '3'));
const STORE_MESSAGES = Number(opt('--store-messages', '100000'));
const PICKUP_RCPTS = Number(opt('--pickup-rcpts', '100000'));
const BIG_RCPTS = 32_766;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const summary = {};

function cleanEnv() {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('IMS_RELAY_')) delete env[k];
  return env;
}

async function startRelay(mode, extra = [], given = undefined) {
  const spool = given ?? fs.mkdtempSync(path.join(os.tmpdir(), 'ims-store-goals-'));
  const child = spawn(
    process.execPath,
    [
      ...(process.env.STORE_GOALS_NODE_ARGS ?? '').split(' ').filter(Boolean),
      BIN,
      'serve',
      '--smtp',
      '127.0.0.1:0',
      '--http',
      '127.0.0.1:0',
      '--spool',
      spool,
      '--mode',
      mode,
      '--log-level',
      'warn',
      ...extra,
    ],
    { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d) => (out += d));
  const exited = new Promise((resolve) => child.on('exit', resolve));
  const deadline = Date.now() + 30_000;
  let port;
  while (!(port = /SMTP on [^\s,]+:(\d+),/.exec(out)?.[1])) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`relay did not start: ${out}`);
    await sleep(20);
  }
  return {
    spool,
    port: Number(port),
    httpPort: Number(/admin API (?:http:\/\/)?[^\s,:]+:(\d+)/.exec(out)?.[1] ?? 0),
    pid: child.pid,
    async stop() {
      child.kill('SIGTERM');
      await exited;
      if (!given) fs.rmSync(spool, { recursive: true, force: true });
    },
  };
}

/** CPU time (user + system) the process has used so far, in ms. */
const cpuMs = (pid) => {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
};
const CLOCK_TICKS = 100; // sysconf(_SC_CLK_TCK) on Linux
/** How long after a capture the relay's CPU is read again, to include the background merge of mailbox_index (it starts at once over 50,000 rows, else after 1 s). */
const MERGE_SETTLE_MS = 2500;

const rssKB = (pid) => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);

function events(spool) {
  const file = path.join(spool, 'log', 'events.jsonl');
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

async function waitEvent(spool, pred, what, timeoutMs = 300_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const e = events(spool).find(pred);
    if (e) return e;
    if (Date.now() > deadline) throw new Error(`no ${what} within ${timeoutMs} ms`);
    await sleep(25);
  }
}

/** A spool whose store holds `n` small captured messages (files and index written directly). */
async function storeOf(n) {
  const { StoreIndex, SCHEMA_VERSION } = await import(path.join(ROOT, 'dist/store/store-index.js'));
  const spool = fs.mkdtempSync(path.join(os.tmpdir(), 'ims-store-goals-'));
  const dir = path.join(spool, 'store');
  for (const sub of ['messages', 'envelopes', 'tmp']) fs.mkdirSync(path.join(dir, sub), { recursive: true });
  const index = new StoreIndex(path.join(dir, 'index.sqlite'));
  const start = Date.now() - n;
  for (let i = 0; i < n; i += 1000) {
    const records = [];
    for (let k = i; k < Math.min(n, i + 1000); k++) {
      const id = `${syntheticQueueId(k)}.1`;
      const to = `user${k % 1000}@example.test`;
      const text = `Message ${k} for ${to}.`;
      const file = `Return-Path: <app@example.test>\r\nX-Original-To: ${to}\r\nDelivered-To: ${to}\r\nFrom: <app@example.test>\r\nTo: <${to}>\r\nSubject: message ${k}\r\n\r\n${text}\r\n`;
      fs.writeFileSync(path.join(dir, 'messages', `${id}.eml`), file);
      records.push(syntheticRecord(k, { recipients: [to], capturedAt: start + k, size: file.length, text }));
    }
    index.insert(records);
  }
  while (index.mergeMailboxes?.() > 0); // (versions before mailbox_index have no merge)
  index.setMeta('schema', String(SCHEMA_VERSION));
  index.setMeta('complete', 'yes');
  index.setMeta('maildirImported', new Date().toISOString());
  index.close();
  return spool;
}

/** In a child process: RSS after a GC, before and after opening the store in `dir`. */
async function openDelta(dir) {
  // the code is loaded first (the relay loads it in every mode): the figure is the open store's
  const { MessageStore } = await import(path.join(ROOT, 'dist/store/message-store.js'));
  globalThis.gc();
  const before = process.memoryUsage().rss;
  const store = await MessageStore.open(dir, {
    retention: { messages: 0, ageMs: undefined, bytes: undefined },
  });
  await sleep(1500);
  globalThis.gc();
  const after = process.memoryUsage().rss;
  await store.close();
  console.log(JSON.stringify({ before, after }));
}

async function idle() {
  const t0 = Date.now();
  const full = await storeOf(STORE_MESSAGES);
  console.log(`(a store of ${STORE_MESSAGES} messages made in ${Date.now() - t0} ms)`);
  try {
    const { spawnSync } = await import('node:child_process');
    const child = spawnSync(
      process.execPath,
      ['--expose-gc', fileURLToPath(import.meta.url), '--child-open', path.join(full, 'store')],
      { encoding: 'utf8' },
    );
    const delta = JSON.parse(child.stdout.trim().split('\n').pop());
    const rss = { empty: [], full: [] };
    for (let i = 0; i < IDLE_RUNS; i++)
      for (const which of ['empty', 'full']) {
        // --retain-messages 0: the default (10,000) would start pruning the 100,000 at once
        const r = await startRelay(
          'capture',
          ['--retain-messages', '0'],
          which === 'full' ? full : undefined,
        );
        await sleep(1500); // settled, as the bench's idle sample
        rss[which].push(rssKB(r.pid));
        await r.stop();
      }
    const empty = median(rss.empty) / 1000;
    const withStore = median(rss.full) / 1000;
    summary.idle = {
      messages: STORE_MESSAGES,
      openAddsMB: (delta.after - delta.before) / 1e6,
      relayEmptyMB: empty,
      relayFullMB: withStore,
      runs: IDLE_RUNS,
    };
    console.log(
      `store of ${STORE_MESSAGES} messages: opening it adds ${((delta.after - delta.before) / 1e6).toFixed(1)} MB RSS in one process ` +
        `(${(delta.before / 1e6).toFixed(1)} -> ${(delta.after / 1e6).toFixed(1)} MB); idle relay ${withStore.toFixed(1)} MB over it, ` +
        `${empty.toFixed(1)} MB over an empty spool: +${(withStore - empty).toFixed(1)} MB (goal <= 10 MB; medians of ${IDLE_RUNS})`,
    );
  } finally {
    fs.rmSync(full, { recursive: true, force: true });
  }
}

/**
 * One transaction, pipelined: MAIL, N RCPT, DATA, the message; resolves at the 250 after it with
 * the queue ID and the epoch ms at which the final dot was written and the 250 read.
 */
function sendBig(port, recipients, message) {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let buf = '';
    let replies = 0;
    const expected = recipients.length + 2; // MAIL, RCPTs, DATA's 354 (after the greeting and EHLO)
    let stage = 0;
    let dotAt = 0;
    s.setEncoding('latin1');
    s.on('error', reject);
    s.on('data', (d) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\r\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 2);
        if (line[3] === '-') continue;
        if (stage === 0) {
          stage = 1;
          s.write('EHLO bench.test\r\n');
        } else if (stage === 1) {
          stage = 2;
          const lines = [
            'MAIL FROM:<bench@example.test>',
            ...recipients.map((r) => `RCPT TO:<${r}>`),
            'DATA',
          ];
          s.write(lines.join('\r\n') + '\r\n');
        } else if (stage === 2) {
          if (++replies === expected) {
            if (!line.startsWith('354')) return reject(new Error(`DATA: ${line}`));
            stage = 3;
            s.write(message + '\r\n.\r\n');
            dotAt = Date.now();
          }
        } else if (stage === 3) {
          s.end('QUIT\r\n');
          if (!line.startsWith('250')) return reject(new Error(`end of data: ${line}`));
          resolve({ queueId: line.split(' ').pop(), dotAt, replyAt: Date.now() });
        }
      }
    });
  });
}

async function big() {
  const r = await startRelay('capture');
  try {
    const recipients = Array.from({ length: BIG_RCPTS }, (_, i) => `user${i + 1}@example.test`);
    const message = [
      'From: <bench@example.test>',
      `To: ${recipients.join(',\r\n ')}`,
      'Subject: one message to 32,766 recipients',
      `Date: ${new Date().toUTCString().replace('GMT', '+0000')}`,
      '',
      'Hello, all of you.',
    ].join('\r\n');
    const cpu0 = cpuMs(r.pid);
    const { queueId, dotAt, replyAt } = await sendBig(r.port, recipients, message);
    const queued = await waitEvent(r.spool, (e) => e.id === 1100 && e.queueId === queueId, 'event 1100');
    const done = await waitEvent(r.spool, (e) => e.id === 1101 && e.queueId === queueId, 'event 1101');
    const cpu = cpuMs(r.pid) - cpu0;
    await sleep(MERGE_SETTLE_MS);
    const cpuSettled = cpuMs(r.pid) - cpu0;
    // captured = event 1101 (durable, indexed, and on the queued path journaled); from the final
    // dot, since a message captured at the final dot has its 1100 only after the capture
    const ms = Math.max(Date.parse(done.time), replyAt) - dotAt;
    const queuedToDelivered = Date.parse(done.time) - Date.parse(queued.time);
    const dotToReply = replyAt - dotAt;
    const store = path.join(r.spool, 'store');
    const file = fs.statSync(path.join(store, 'messages', `${queueId}.1.eml`)).size;
    // the envelope sidecar (versions before it wrote a Delivered-To line per recipient into the file)
    const sidecar =
      fs.statSync(path.join(store, 'envelopes', `${queueId}.1.rcpt`), { throwIfNoEntry: false })?.size ?? 0;
    const indexBytes = fs
      .readdirSync(store)
      .filter((n) => n.startsWith('index.sqlite'))
      .reduce((sum, n) => sum + fs.statSync(path.join(store, n)).size, 0);
    const messageBytes = Buffer.byteLength(message) + 2; // as the relay stores it, without its Received: line
    summary.big = {
      ms,
      dotToReply,
      queuedToDelivered,
      direct: queued.data?.captured === true,
      cpuMs: cpu,
      cpuSettledMs: cpuSettled,
      fileBytes: file,
      messageBytes,
      sidecarBytes: sidecar,
      indexBytes,
      rss: rssKB(r.pid),
    };
    console.log(
      `32,766 recipients: final dot -> captured (1101) ${ms} ms (goal <= 1000 ms; dot -> 250 ${dotToReply} ms, 1100 -> 1101 ${queuedToDelivered} ms, ${summary.big.direct ? 'captured at the final dot' : 'through the queue'}; relay CPU from the first byte sent ${cpu} ms, ${cpuSettled} ms with the background index work: full-text rows, mailbox merge); file ${file} B for a message of ${messageBytes} B ` +
        `(${(file / messageBytes).toFixed(2)} x; goal <= 2 x), sidecar ${sidecar} B, index ${indexBytes} B`,
    );
  } finally {
    await r.stop();
  }
}

async function pickup() {
  const r = await startRelay('capture');
  try {
    const lines = ['X-Sender: <bench@example.test>'];
    for (let i = 1; i <= PICKUP_RCPTS; i++) lines.push(`X-Receiver: <user${i}@example.test>`);
    lines.push(
      'From: <bench@example.test>',
      'To: undisclosed-recipients:;',
      'Subject: pickup',
      '',
      'Hello.',
      '',
    );
    const dir = path.join(r.spool, 'pickup');
    fs.mkdirSync(dir, { recursive: true });
    const cpu0 = cpuMs(r.pid);
    fs.writeFileSync(path.join(dir, 'big.eml.part'), lines.join('\r\n'));
    fs.renameSync(path.join(dir, 'big.eml.part'), path.join(dir, 'big.eml'));
    const picked = await waitEvent(r.spool, (e) => e.id === 1110 && e.data?.file === 'big.eml', 'event 1110');
    const done = await waitEvent(r.spool, (e) => e.id === 1101 && e.queueId === picked.queueId, 'event 1101');
    const cpu = cpuMs(r.pid) - cpu0;
    await sleep(MERGE_SETTLE_MS);
    const cpuSettled = cpuMs(r.pid) - cpu0;
    const delivered = done.data?.delivered;
    const ms = Date.parse(done.time) - Date.parse(picked.time);
    summary.pickup = {
      rcpts: PICKUP_RCPTS,
      ms,
      cpuMs: cpu,
      cpuSettledMs: cpuSettled,
      delivered,
      rss: rssKB(r.pid),
    };
    console.log(
      `pickup file to ${PICKUP_RCPTS} recipients: picked up -> captured ${ms} ms (goal <= 3000 ms at 100,000; relay CPU from the drop ${cpu} ms, ${cpuSettled} ms with the background index work: full-text rows, mailbox merge), delivered ${delivered}`,
    );
  } finally {
    await r.stop();
  }
}

if (args[0] === '--child-open') {
  await openDelta(args[1]);
  process.exit(0);
}
/**
 * api: a relay over a store of --store-messages captured messages (no retention, so none is
 * pruned): the first page of GET /api/v1/mail (limit 50), a full-text query (q=) and a mailbox
 * (to=), each asked --api-runs times after one warm-up request; medians.
 */
async function api() {
  const full = await storeOf(STORE_MESSAGES);
  const r = await startRelay('capture', ['--retain-messages', '0'], full);
  try {
    const ask = async (query) => {
      const t = performance.now();
      const res = await globalThis.fetch(`http://127.0.0.1:${r.httpPort}/api/v1/mail?${query}`);
      const body = await res.json();
      if (!res.ok) throw new Error(`${query}: ${res.status} ${JSON.stringify(body)}`);
      return { ms: performance.now() - t, total: body.total, count: body.messages.length };
    };
    const firstMs = (await ask('limit=50')).ms; // loads the admin API's routes
    const figures = {};
    for (const [name, query] of [
      ['page', 'limit=50'],
      ['fullText', `limit=50&q=${encodeURIComponent('Message 4242')}`],
      ['mailbox', `limit=50&to=${encodeURIComponent('user42@example.test')}`],
    ]) {
      const runs = [];
      let last;
      for (let i = 0; i < API_RUNS; i++) runs.push((last = await ask(query)).ms);
      figures[name] = { medianMs: Number(median(runs).toFixed(1)), total: last.total, returned: last.count };
    }
    summary.api = { messages: STORE_MESSAGES, firstRequestMs: Number(firstMs.toFixed(1)), ...figures };
    console.log(
      `store of ${STORE_MESSAGES} messages over HTTP (medians of ${API_RUNS}; goal <= 50 ms): first page ${figures.page.medianMs} ms (total ${figures.page.total}), ` +
        `full text ${figures.fullText.medianMs} ms (${figures.fullText.total} found), mailbox ${figures.mailbox.medianMs} ms (${figures.mailbox.total} found); the very first request ${firstMs.toFixed(0)} ms`,
    );
  } finally {
    await r.stop();
    fs.rmSync(full, { recursive: true, force: true });
  }
}

if (only.includes('idle')) await idle();
if (only.includes('api')) await api();
if (only.includes('big')) await big();
if (only.includes('pickup')) await pickup();
console.log(JSON.stringify(summary));
