// DEEP100k (issue 18): a deep queue. ims-relay: N entries written straight into a spool's in/
// (every 10th from other@example.test, every 100th held), then
//   - with no relay running: `queue list` to its last line, `--count`, a filtered count, `--held`,
//     `--json`;
//   - hold mode: startup to the first SMTP greeting, the API's first page (the second request: the
//     first one loads the API), the API's count, `queue list` through the running relay with the
//     relay's RSS before and after;
//   - relay mode (upstream unreachable) and capture mode: startup to the first greeting.
// Postfix: the lab instance holds N messages (HOLD at end of data, targets/postfix.mjs) and
// `postqueue -p` is timed to its last line. --deep-messages N sets N (default 100,000).
// The helpers are shared with bench/deep-queue.mjs, the stand-alone version of these figures.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { BENCHLAB, PFC } from '../lib/paths.mjs';
import { now, sleep, which } from '../lib/processes.mjs';
import { settings } from '../lib/settings.mjs';
import { kbToMB } from '../measure/memory.mjs';
import { filesUnder, holdInLabPostfix } from '../targets/postfix.mjs';
import { newRunFolder } from '../targets/run-files.mjs';
import { parseResult, smtpload } from './receive.mjs';

/** Writes `count` entries into `<spool>/in/` with the relay's own encoder (from `root`/dist). */
export async function fillSpool(root, spool, count) {
  const { encodeEntry } = await import(pathToFileURL(path.join(root, 'dist/spool/entry-format.js')).href);
  const { QueueIdGenerator } = await import(pathToFileURL(path.join(root, 'dist/spool/queue-id.js')).href);
  for (const f of ['in', 'out', 'bad', 'archive', 'tmp', 'pickup', 'log'])
    fs.mkdirSync(path.join(spool, f), { recursive: true, mode: 0o700 });
  const start = Date.now() - count * 10;
  let i = 0;
  const ids = new QueueIdGenerator(() => start + i * 10);
  const body = Buffer.from(
    'From: bench@example.test\r\nTo: user@example.test\r\nSubject: deep queue\r\n\r\n' +
      'x'.repeat(2000) +
      '\r\n',
  );
  for (i = 0; i < count; i++) {
    const queueId = ids.next();
    const envelope = {
      version: 1,
      queueId,
      arrivedAt: new Date(start + i * 10).toISOString(),
      sender: i % 10 === 0 ? 'other@example.test' : 'bench@example.test',
      recipients: [{ address: `user${i % 100}@example.test` }],
      dsn: {},
      bodyType: '7bit',
      smtpUtf8: false,
      source: 'smtp',
    };
    fs.writeFileSync(path.join(spool, 'in', `${queueId}.imsr`), encodeEntry(envelope, body));
    if (i % 100 === 0)
      fs.writeFileSync(
        path.join(spool, 'in', `${queueId}.journal`),
        JSON.stringify({ t: 'hold', at: new Date().toISOString() }) + '\n',
      );
  }
}

/** Runs a command; resolves with the time to its exit, the time to its last output, and its lines. */
export function timed(cmd, argv, env = {}) {
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd, argv, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let lastOut = t0;
    let lines = 0;
    let tail = '';
    let err = '';
    child.stdout.on('data', (d) => {
      lastOut = process.hrtime.bigint();
      const s = d.toString('utf8');
      for (const c of s) if (c === '\n') lines++;
      tail = (tail + s).slice(-300);
    });
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) =>
      resolve({
        code,
        ms: Number(process.hrtime.bigint() - t0) / 1e6,
        lastLineMs: Number(lastOut - t0) / 1e6,
        lines,
        tail: tail.trim().split('\n').pop(),
        err: err.trim().slice(0, 300),
      }),
    );
  });
}

/** Connects until the SMTP greeting comes; the time (ms) from `t0` (a now() value), or null. */
export async function firstGreeting(port, t0, timeoutMs = 600_000) {
  for (;;) {
    const got = await new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.setTimeout(2000, () => {
        s.destroy();
        resolve(false);
      });
      s.once('data', (d) => {
        s.end('QUIT\r\n');
        resolve(/^220/.test(d.toString()));
      });
      s.once('error', () => resolve(false));
    });
    if (got) return now() - t0;
    if (now() - t0 > timeoutMs) return null;
    await sleep(20);
  }
}

/** VmRSS and VmHWM of one process (KiB). */
export function rssKB(pid) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    return { rss: Number(/VmRSS:\s+(\d+)/.exec(s)[1]), hwm: Number(/VmHWM:\s+(\d+)/.exec(s)[1]) };
  } catch {
    return null;
  }
}

export async function httpTime(url) {
  const t0 = now();
  const res = await globalThis.fetch(url);
  const body = await res.json();
  return { ms: now() - t0, status: res.status, body };
}

const round = (x, d = 0) => (x == null ? null : +x.toFixed(d));

export function runDeepQueue(W, label, server) {
  return server.name === 'postfix' ? postfixDeep(W, label, server) : imsDeep(W, label, server);
}

async function imsDeep(W, label, server) {
  const n = W.messages;
  const spool = path.join(newRunFolder('deep-'), 'spool');
  const tFill = now();
  await fillSpool(server.root, spool, n);
  const out = { messages: n, fillMs: round(now() - tFill) };
  const cli = (...a) =>
    timed(process.execPath, [path.join(server.root, 'bin', 'ims-relay.js'), 'queue', ...a, '--spool', spool]);
  const problems = [];
  // with no relay running
  for (const [key, argv, expectLast] of [
    ['listMs', ['list'], `in/: ${n} messages`],
    ['countMs', ['list', '--count'], String(n)],
    ['filteredCountMs', ['list', '--count', '--sender', 'other'], String(Math.ceil(n / 10))],
    ['heldListMs', ['list', '--held'], null],
    ['jsonListMs', ['list', '--json'], null],
  ]) {
    const r = await cli(...argv);
    out[key] = round(r.lastLineMs);
    if (r.code !== 0) problems.push(`queue ${argv.join(' ')}: exit ${r.code} ${r.err}`);
    else if (expectLast !== null && r.tail !== expectLast)
      problems.push(`queue ${argv.join(' ')}: last line "${r.tail}", expected "${expectLast}"`);
  }
  // hold mode: startup, the API, listing through the relay
  server.readyTimeoutMs = 600_000;
  try {
    const { port, pid } = await server.start([], { spool });
    out.startHoldMs = round(await firstGreeting(port, server.spawnedAt));
    const http = JSON.parse(server.readyLine).http;
    await sleep(1000);
    if (http) {
      const api = `${http}/api/v1/messages`;
      const first = await httpTime(`${api}?limit=50`);
      out.apiFirstRequestMs = round(first.ms, 1);
      const second = await httpTime(`${api}?limit=50`);
      out.apiFirstPageMs = round(second.ms, 1);
      if (second.body.items?.length !== Math.min(50, n))
        problems.push(`API first page: ${second.body.items?.length} items`);
      const count = await httpTime(`${api}/count`);
      out.apiCountMs = round(count.ms, 1);
      if (count.body.count !== n) problems.push(`API count: ${count.body.count}, expected ${n}`);
    } else problems.push('the relay runs without the admin API (--http off?)');
    await sleep(500);
    const before = rssKB(pid);
    const through = await cli('list');
    const after = rssKB(pid);
    out.apiListMs = round(through.lastLineMs);
    if (through.tail !== `in/: ${n} messages`)
      problems.push(`queue list through the relay: last line "${through.tail}"`);
    out.rssBeforeMB = kbToMB(before?.rss);
    out.rssAfterMB = kbToMB(after?.rss);
    out.listRssGrowthMB = before && after ? kbToMB(after.rss - before.rss) : null;
    out.peakKB = after?.hwm;
    await server.stop();
    // relay mode, the upstream unreachable (nothing is delivered)
    const relayed = await server.start(
      ['--mode', 'relay', '--upstream', 'smtp://127.0.0.1:1', '--retry-initial', '1h'],
      { spool },
    );
    out.startRelayMs = round(await firstGreeting(relayed.port, server.spawnedAt));
    await server.stop();
    // capture mode: the relay run's journals forgotten, the whole backlog is due
    const inDir = path.join(spool, 'in');
    for (const name of fs.readdirSync(inDir))
      if (name.endsWith('.journal')) fs.rmSync(path.join(inDir, name));
    const captured = await server.start(['--mode', 'capture'], { spool });
    out.startCaptureMs = round(await firstGreeting(captured.port, server.spawnedAt));
  } finally {
    server.readyTimeoutMs = undefined;
  }
  out.ms = out.listMs;
  if (problems.length) return { ok: false, ...out, error: problems.join('; ') };
  return { ok: true, ...out };
}

/** Messages in the lab Postfix's hold queue. */
export function heldInLabPostfix(base = path.join(BENCHLAB, 'postfix')) {
  return filesUnder([path.join(base, 'queue', 'hold')]);
}

/** Sends `n` messages to the lab Postfix (smtpload, 4 connections) and times postqueue -p. */
export async function postqueueOnHeld(n, port, label, timeoutMs) {
  const out = { messages: n };
  const args = ['--mode', 'load', '--messages', String(n), '--rcpts', '1', '--conns', '4'];
  const load = await smtpload({ args }, port, label, { timeoutMs });
  const res = parseResult(load.stdout);
  if (!res || load.code !== 0 || res.accepted !== n)
    return {
      ok: false,
      ...out,
      error: `injecting ${n}: ${res ? `accepted ${res.accepted}, ${res.error || res.firstFailure || ''}` : `no RESULT (exit ${load.code}) ${load.stderr.slice(-300)}`}`,
    };
  out.injectMs = round(res.elapsedMs);
  out.injectMps = res.msgsPerSec;
  // every accepted message reaches hold/ (the cleanup service writes it there)
  const t0 = now();
  while (heldInLabPostfix() < n && now() - t0 < 120_000) await sleep(200);
  out.held = heldInLabPostfix();
  const postqueue = which('postqueue', ['/usr/sbin']) || 'postqueue';
  const pq = await timed(postqueue, ['-c', PFC, '-p']);
  out.ms = round(pq.lastLineMs);
  out.postqueueMs = out.ms;
  out.postqueueExitMs = round(pq.ms);
  out.lines = pq.lines;
  out.last = pq.tail;
  if (out.held !== n || !/ in \d+ Requests?\.$/.test(pq.tail ?? ''))
    return { ok: false, ...out, error: `held ${out.held} of ${n}; postqueue -p ended with "${pq.tail}"` };
  return { ok: true, ...out };
}

export async function postfixDeep(W, label, server) {
  try {
    const { port } = await server.start([], { hold: true });
    const timeoutMs = Math.max(settings.opt?.timeoutMs ?? 300000, W.messages * 20);
    return await postqueueOnHeld(W.messages, port, label, timeoutMs);
  } finally {
    holdInLabPostfix(false);
    // the held messages are deleted, then Postfix stops (its queue empty for the next run)
    const postsuper = which('postsuper', ['/usr/sbin']) || 'postsuper';
    spawnSync(postsuper, ['-c', PFC, '-d', 'ALL'], { stdio: 'ignore', timeout: 600000 });
    await server.stop();
  }
}
