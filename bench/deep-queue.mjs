#!/usr/bin/env node
// The deep-queue measurements of docs/performance.md ("A deep queue"): a spool holding N messages
// (default 100,000) written straight into in/, then
//   - with no relay running: `queue list` to its last line, `queue list --count`, a filtered count,
//     `queue list --json`;
//   - startup to the first SMTP greeting, in hold, relay (upstream unreachable) and capture mode;
//   - through a running relay (hold mode): the first API page, the API count, `queue list` through
//     the API, and the relay's RSS before and after;
//   - capture mode delivering the backlog: msgs/s per tenth of it (flat or not);
//   - with --postfix: a private Postfix instance (the lab's setup_postfix.sh, its own port) that
//     holds N messages (HOLD at end of data), and `postqueue -p` to its last line.
// Usage: node bench/deep-queue.mjs [--messages N] [--postfix] [--no-capture] [--dir DIR]
// Needs a build (npm run build). Prints one line per figure and a JSON summary at the end.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(ROOT, 'bin/ims-relay.js');
const LAB = process.env.BENCH_LAB_DIR || path.resolve(ROOT, '../shared/bench');

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const N = Number(opt('--messages', '100000'));
const withPostfix = args.includes('--postfix');
const withCapture = !args.includes('--no-capture');
const base = opt('--dir', undefined) ?? fs.mkdtempSync(path.join(os.tmpdir(), 'ims-deep-'));
const results = { messages: N, date: new Date().toISOString(), cpus: os.cpus().length, load: os.loadavg() };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const { encodeEntry } = await import(path.join(ROOT, 'dist/spool/entry-format.js'));
const { QueueIdGenerator } = await import(path.join(ROOT, 'dist/spool/queue-id.js'));

function fill(spool, count) {
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

/** Runs a command; resolves with the time to its exit, the time to its last output, and its output size. */
function timed(cmd, argv, env = {}) {
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
    child.on('exit', (code) =>
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

async function freePort() {
  const s = net.createServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

/** Connects until the SMTP greeting comes; resolves with the time (ms) from `t0`. */
async function firstGreeting(port, t0, timeoutMs = 600_000) {
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
    if (got) return Number(process.hrtime.bigint() - t0) / 1e6;
    if (Number(process.hrtime.bigint() - t0) / 1e6 > timeoutMs) return null;
    await sleep(20);
  }
}

function rssKB(pid) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    return { rss: Number(/VmRSS:\s+(\d+)/.exec(s)[1]), hwm: Number(/VmHWM:\s+(\d+)/.exec(s)[1]) };
  } catch {
    return null;
  }
}

async function serve(spool, mode, extra = []) {
  const port = await freePort();
  const http = await freePort();
  const t0 = process.hrtime.bigint();
  const child = spawn(
    process.execPath,
    [
      BIN,
      'serve',
      '--spool',
      spool,
      '--smtp',
      `127.0.0.1:${port}`,
      '--http',
      `127.0.0.1:${http}`,
      '--mode',
      mode,
      '--log-level',
      'warn',
      ...extra,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const greetingMs = await firstGreeting(port, t0);
  const stop = async () => {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  };
  return { child, port, http, greetingMs, stop };
}

async function httpTime(url) {
  const t0 = process.hrtime.bigint();
  const res = await globalThis.fetch(url);
  const body = await res.json();
  return { ms: Number(process.hrtime.bigint() - t0) / 1e6, body };
}

const log = (k, v) => {
  results[k] = v;
  console.log(`${k}: ${JSON.stringify(v)}`);
};

// ---------------------------------------------------------------- the spool
const spool = path.join(base, 'spool');
let t = Date.now();
fill(spool, N);
console.log(`filled ${spool} with ${N} entries in ${Date.now() - t} ms`);

// ---------------------------------------------------------------- no relay running
const cli = (...a) => timed(process.execPath, [BIN, 'queue', ...a, '--spool', spool]);
for (const [name, argv] of [
  ['cli list', ['list']],
  ['cli list --count', ['list', '--count']],
  ['cli list --count --sender other', ['list', '--count', '--sender', 'other']],
  ['cli list --held', ['list', '--held']],
  ['cli list --json', ['list', '--json']],
]) {
  const r = await cli(...argv);
  log(name, {
    ms: +r.ms.toFixed(0),
    lastLineMs: +r.lastLineMs.toFixed(0),
    lines: r.lines,
    last: r.tail,
    code: r.code,
  });
}

// ---------------------------------------------------------------- running relay, hold mode
{
  const relay = await serve(spool, 'hold');
  log('startup to SMTP, hold', +relay.greetingMs.toFixed(0));
  await sleep(1000);
  const cold = rssKB(relay.child.pid);
  const api = `http://127.0.0.1:${relay.http}/api/v1/messages`;
  // the admin API (fastify) is loaded with the first request: that one is timed apart
  const first = await httpTime(`${api}?limit=50`);
  log('API first page (limit 50), first request (loads the API)', {
    ms: +first.ms.toFixed(1),
    items: first.body.items.length,
    total: first.body.total,
  });
  const second = await httpTime(`${api}?limit=50`);
  log('API first page (limit 50)', { ms: +second.ms.toFixed(1) });
  const count = await httpTime(`${api}/count`);
  log('API count', { ms: +count.ms.toFixed(1), count: count.body.count });
  await sleep(500);
  const before = rssKB(relay.child.pid);
  log('relay RSS idle, and with the API loaded (KB)', { cold, loaded: before });
  const through = await cli('list');
  const after = rssKB(relay.child.pid);
  log('cli list through the relay', { ms: +through.ms.toFixed(0), lines: through.lines, last: through.tail });
  log('relay RSS before/after listing (KB)', {
    before,
    after,
    growthKB: after && before ? after.rss - before.rss : null,
  });
  await relay.stop();
}

// ---------------------------------------------------------------- relay mode (upstream unreachable)
{
  const relay = await serve(spool, 'relay', ['--upstream', 'smtp://127.0.0.1:1', '--retry-initial', '1h']);
  log('startup to SMTP, relay', +relay.greetingMs.toFixed(0));
  await relay.stop();
}

// ---------------------------------------------------------------- capture mode: the backlog delivered
if (withCapture) {
  // release the held ones and forget the relay run's journals: the whole backlog is due
  const inDir = path.join(spool, 'in');
  for (const name of fs.readdirSync(inDir)) if (name.endsWith('.journal')) fs.rmSync(path.join(inDir, name));
  const total = fs.readdirSync(inDir).length;
  const relay = await serve(spool, 'capture');
  log('startup to SMTP, capture', +relay.greetingMs.toFixed(0));
  const t0 = Date.now();
  const tenths = [];
  let mark = t0;
  let markLeft = total;
  for (;;) {
    await sleep(250);
    const left = fs.readdirSync(inDir).filter((n) => n.endsWith('.imsr')).length;
    while (markLeft - left >= total / 10 && tenths.length < 10) {
      const now = Date.now();
      tenths.push(+((total / 10 / (now - mark)) * 1000).toFixed(0));
      mark = now;
      markLeft -= total / 10;
    }
    if (left === 0 || Date.now() - t0 > 900_000) {
      log('capture backlog delivered', {
        ms: Date.now() - t0,
        msgsPerSec: +((total - left) / ((Date.now() - t0) / 1000)).toFixed(0),
        left,
        msgsPerSecByTenth: tenths,
      });
      break;
    }
  }
  await relay.stop();
}

// ---------------------------------------------------------------- Postfix holding N
if (withPostfix) {
  const pfBase = path.join(base, 'postfix');
  const setup = spawnSync('bash', [path.join(LAB, 'setup_postfix.sh'), pfBase], { encoding: 'utf8' });
  if (setup.status !== 0) log('postfix', { error: setup.stderr.slice(0, 300) });
  else {
    const C = path.join(pfBase, 'etc');
    const port = await freePort();
    const pc = (...a) => spawnSync('postconf', ['-c', C, ...a], { encoding: 'utf8' });
    pc('-MX', '127.0.0.1:2525/inet');
    pc('-M', `127.0.0.1:${port}/inet = 127.0.0.1:${port} inet n - n - - smtpd`);
    pc('-e', 'smtpd_end_of_data_restrictions = check_client_access static:HOLD');
    spawnSync('postfix', ['-c', C, 'start']);
    const load = await timed(process.execPath, [
      path.join(LAB, 'smtpload.mjs'),
      '--mode',
      'load',
      '--messages',
      String(N),
      '--rcpts',
      '1',
      '--conns',
      '4',
      '--port',
      String(port),
      '--timeout-ms',
      '3600000',
    ]);
    console.log(`postfix received ${N} in ${load.ms.toFixed(0)} ms`);
    await sleep(2000);
    const pq = await timed('postqueue', ['-c', C, '-p']);
    log('postqueue -p', {
      ms: +pq.ms.toFixed(0),
      lastLineMs: +pq.lastLineMs.toFixed(0),
      lines: pq.lines,
      last: pq.tail,
    });
    spawnSync('postfix', ['-c', C, 'stop']);
  }
}

console.log('RESULT ' + JSON.stringify(results));
if (!opt('--dir', undefined)) fs.rmSync(base, { recursive: true, force: true });
