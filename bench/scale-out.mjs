#!/usr/bin/env node
// W2 through HAProxy to two relays versus one relay directly, in the same run (docs/scaling.md):
// the lab's load client (smtpload.mjs, W2's shape: N msgs x 1 rcpt, 4 connections) against
//   1. one ims-relay (hold mode) directly;
//   2. HAProxy (send-proxy, check-send-proxy) in front of two ims-relays (hold mode,
//      --proxy-protocol-from 127.0.0.1).
// For each: msgs/s, and the CPU time (user + system, from /proc/PID/stat) each server process used.
// Usage: BENCH_LAB_DIR=<lab> node bench/scale-out.mjs [--messages 2000] [--conns 4]
// Needs a build (npm run build) and haproxy.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(ROOT, 'bin/ims-relay.js');
const LAB = process.env.BENCH_LAB_DIR || path.resolve(ROOT, '../shared/bench');
const SMTPLOAD = path.join(LAB, 'smtpload.mjs');
const HAPROXY = ['/usr/sbin/haproxy', '/usr/local/sbin/haproxy'].find((p) => fs.existsSync(p));
const args = process.argv.slice(2);
const opt = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const MESSAGES = opt('--messages', '2000');
const CONNS = opt('--conns', '4');
const TICK = 100; // clock ticks per second on Linux
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ims-scale-'));

if (!fs.existsSync(SMTPLOAD)) throw new Error(`load client not found: ${SMTPLOAD} (set BENCH_LAB_DIR)`);
if (!HAPROXY) throw new Error('haproxy not found (apt-get install haproxy)');

async function freePort() {
  const s = net.createServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

function cpuMs(pid) {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICK;
}

async function waitPort(port) {
  for (let i = 0; i < 500; i++) {
    const ok = await new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(20);
  }
  throw new Error(`nothing listens on ${port}`);
}

async function relay(name, extra = []) {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [
      BIN,
      'serve',
      '--spool',
      path.join(work, name),
      '--smtp',
      `127.0.0.1:${port}`,
      '--http',
      'off',
      '--mode',
      'hold',
      '--log-level',
      'warn',
      ...extra,
    ],
    { stdio: 'ignore' },
  );
  await waitPort(port);
  return {
    name,
    port,
    pid: child.pid,
    stop: () => new Promise((r) => (child.kill('SIGTERM'), child.once('exit', r))),
  };
}

function load(port, label) {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [
        SMTPLOAD,
        '--mode',
        'load',
        '--messages',
        MESSAGES,
        '--rcpts',
        '1',
        '--conns',
        CONNS,
        '--port',
        String(port),
        '--label',
        label,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('exit', () => {
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      resolve(line ? JSON.parse(line.slice(7)) : { error: out.slice(-300) });
    });
  });
}

const results = {
  messages: Number(MESSAGES),
  conns: Number(CONNS),
  cpus: os.cpus().length,
  load: os.loadavg(),
};

// 1. one relay directly
{
  const r = await relay('direct');
  await sleep(500);
  const c0 = cpuMs(r.pid);
  const res = await load(r.port, 'direct');
  results.direct = {
    msgsPerSec: res.msgsPerSec,
    accepted: res.accepted,
    cpuMs: { relay: cpuMs(r.pid) - c0 },
  };
  await r.stop();
}

// 2. HAProxy in front of two relays
{
  const a = await relay('a', ['--proxy-protocol-from', '127.0.0.1']);
  const b = await relay('b', ['--proxy-protocol-from', '127.0.0.1']);
  const front = await freePort();
  const cfg = path.join(work, 'haproxy.cfg');
  fs.writeFileSync(
    cfg,
    [
      'defaults',
      '  mode tcp',
      '  timeout connect 5s',
      '  timeout client 10m',
      '  timeout server 10m',
      'frontend smtp',
      `  bind 127.0.0.1:${front}`,
      '  default_backend relays',
      'backend relays',
      '  balance leastconn',
      `  server a 127.0.0.1:${a.port} send-proxy check check-send-proxy inter 2s`,
      `  server b 127.0.0.1:${b.port} send-proxy check check-send-proxy inter 2s`,
      '',
    ].join('\n'),
  );
  const ha = spawn(HAPROXY, ['-db', '-f', cfg], { stdio: 'ignore' });
  await waitPort(front);
  await sleep(1000);
  const c0 = { a: cpuMs(a.pid), b: cpuMs(b.pid), haproxy: cpuMs(ha.pid) };
  const res = await load(front, 'haproxy');
  results.haproxy = {
    msgsPerSec: res.msgsPerSec,
    accepted: res.accepted,
    cpuMs: { a: cpuMs(a.pid) - c0.a, b: cpuMs(b.pid) - c0.b, haproxy: cpuMs(ha.pid) - c0.haproxy },
    spools: {
      a: fs.readdirSync(path.join(work, 'a', 'in')).filter((n) => n.endsWith('.imsr')).length,
      b: fs.readdirSync(path.join(work, 'b', 'in')).filter((n) => n.endsWith('.imsr')).length,
    },
  };
  ha.kill('SIGTERM');
  await Promise.all([a.stop(), b.stop()]);
}

console.log(JSON.stringify(results, null, 2));
fs.rmSync(work, { recursive: true, force: true });
