#!/usr/bin/env node
// The deep-queue measurements of docs/performance.md ("A deep queue") on their own, one figure per
// line: a spool holding N messages (default 100,000) written straight into in/, then
//   - with no relay running: `queue list` to its last line, `queue list --count`, a filtered count,
//     `queue list --json`;
//   - startup to the first SMTP greeting, in hold, relay (upstream unreachable) and capture mode;
//   - through a running relay (hold mode): the first API page, the API count, `queue list` through
//     the API, and the relay's RSS before and after;
//   - capture mode delivering the backlog: msgs/s per tenth of it (flat or not);
//   - with --postfix: the lab Postfix (bench/setup.sh; 127.0.0.1:2525, not running) holding N
//     messages (HOLD at end of data) and `postqueue -p` to its last line.
// The same figures, in the bench's report table: `npm run bench -- --workloads DEEP100k`
// (bench/workloads/deep-queue.mjs, whose helpers this script uses).
// Usage: node bench/deep-queue.mjs [--messages N] [--postfix] [--no-capture] [--dir DIR]
// Needs a build (npm run build). Prints one line per figure and a JSON summary at the end.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from './lib/paths.mjs';
import { now, sleep } from './lib/processes.mjs';
import { postfixServer } from './targets/postfix.mjs';
import { firstGreeting, fillSpool, httpTime, postfixDeep, rssKB, timed } from './workloads/deep-queue.mjs';

const BIN = path.join(ROOT, 'bin/ims-relay.js');
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

async function freePort() {
  const s = net.createServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

async function serve(spool, mode, extra = []) {
  const port = await freePort();
  const http = await freePort();
  const t0 = now();
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

const log = (k, v) => {
  results[k] = v;
  console.log(`${k}: ${JSON.stringify(v)}`);
};

// ---------------------------------------------------------------- the spool
const spool = path.join(base, 'spool');
let t = Date.now();
await fillSpool(ROOT, spool, N);
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
      const at = Date.now();
      tenths.push(+((total / 10 / (at - mark)) * 1000).toFixed(0));
      mark = at;
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

// ---------------------------------------------------------------- the lab Postfix holding N
if (withPostfix) {
  const server = postfixServer();
  const reason = await server.check();
  if (reason) log('postqueue -p', { error: reason });
  else {
    const r = await postfixDeep({ messages: N }, 'deep-queue-postfix', server);
    if (r.injectMs != null) console.log(`postfix received ${N} in ${r.injectMs} ms`);
    log(
      'postqueue -p',
      r.ok ? { ms: r.postqueueExitMs, lastLineMs: r.ms, lines: r.lines, last: r.last } : { error: r.error },
    );
  }
}

console.log('RESULT ' + JSON.stringify(results));
if (!opt('--dir', undefined)) fs.rmSync(base, { recursive: true, force: true });
