#!/usr/bin/env node
// bench/run.mjs - side-by-side benchmark of ims-relay against Postfix and the bare smtp-server
// floor, on the loopback workloads of the benchmark lab (../shared/bench, see bench/README.md).
//
//   npm run bench -- [--runs N] [--quick] [--targets postfix,floor,ims]
//                    [--workloads W1,W2,W2c,W3,E2,E3,NDR32766,NDR100000]
//                    [--relay-args "..."] [--timeout-ms MS] [--no-build] [--no-pin]
//
// W* measure the receive path (ims-relay in hold mode), E* end to end (ims-relay in capture mode:
// accepted -> in the recipients' Maildirs; Postfix: received -> discarded, its queue empty again),
// NDR* the non-delivery report for a pickup file whose recipients all fail (ims-relay only).
//
// Every run starts a fresh server (so each peak RSS belongs to that one workload run), runs one
// bounded client against 127.0.0.1, reads the server's VmHWM, and stops the server again. Runs are
// interleaved across the targets (W1 run 1 on every target, then W1 run 2, ...) so that drift in
// the machine's load hits every target alike. Results: a console table, the targets with the
// measured ratio and PASS/MISS (figures, not assertions: the exit code is 0 either way),
// bench/results/latest.json and bench/results/latest.md (a table for docs/performance.md).
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const LAB = path.resolve(process.env.BENCH_LAB_DIR || path.join(ROOT, '..', 'shared', 'bench'));
const BENCHLAB = path.resolve(process.env.BENCHLAB || '/tmp/benchlab');
const RESULTS_DIR = path.join(ROOT, 'bench', 'results');
const SMTPLOAD = path.join(LAB, 'smtpload.mjs');
const SERVERS_SH = path.join(LAB, 'servers.sh');
const MARK_START = pathToFileURL(path.join(ROOT, 'bench', 'mark-start.mjs')).href;

// ---------------------------------------------------------------- options
function parseArgs(argv) {
  const o = {
    runs: 3,
    targets: ['postfix', 'floor', 'ims'],
    workloads: ['W1', 'W2', 'W2c', 'W3', 'E2', 'E3', 'E4', 'NDR32766', 'NDR100000'],
    relayArgs: [],
    timeoutMs: 300000,
    build: true,
    pin: true,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) usage(`missing value for ${a}`);
      return argv[++i];
    };
    if (a === '--runs') o.runs = Number(val());
    else if (a === '--quick') o.runs = 1;
    else if (a === '--targets')
      o.targets = val()
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    else if (a === '--workloads')
      o.workloads = val()
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    else if (a === '--relay-args') o.relayArgs = splitArgs(val());
    else if (a === '--timeout-ms') o.timeoutMs = Number(val());
    else if (a === '--no-build') o.build = false;
    else if (a === '--no-pin') o.pin = false;
    else if (a === '--help' || a === '-h') usage();
    else usage(`unknown option ${a}`);
  }
  if (!Number.isInteger(o.runs) || o.runs < 1 || o.runs > 20) usage('--runs must be 1..20');
  if (!(o.timeoutMs >= 1000 && o.timeoutMs <= 3600000)) usage('--timeout-ms must be 1000..3600000');
  for (const t of o.targets) if (!TARGET_NAMES[t]) usage(`unknown target ${t}`);
  for (const w of o.workloads) if (!WORKLOADS[w]) usage(`unknown workload ${w}`);
  // keep the canonical order whatever order was given
  o.targets = Object.keys(TARGET_NAMES).filter((t) => o.targets.includes(t));
  o.workloads = Object.keys(WORKLOADS).filter((w) => o.workloads.includes(w));
  return o;
}

function usage(err) {
  if (err) console.error(`run.mjs: ${err}`);
  console.error(
    'usage: npm run bench -- [--runs N (default 3)] [--quick] [--targets postfix,floor,ims]\n' +
      '                       [--workloads W1,W2,W2c,W3,E2,E3,NDR32766,NDR100000]\n' +
      '                       [--relay-args "..."] [--timeout-ms MS]\n' +
      '                       [--no-build] [--no-pin]',
  );
  process.exit(err ? 2 : 0);
}

// minimal shell-like split: whitespace separated, '...' and "..." group, no escapes
function splitArgs(s) {
  const out = [];
  const re = /"([^"]*)"|'([^']*)'|(\S+)/g;
  let m;
  while ((m = re.exec(s))) out.push(m[1] ?? m[2] ?? m[3]);
  return out;
}

const TARGET_NAMES = { postfix: 'Postfix', floor: 'smtp-server floor', ims: 'ims-relay' };

// kind: 'big' (time of one transaction), 'load' (msgs/s), 'source' (smtp-source, msgs/s): the
// receive path, every target; 'e2e' (end to end, msgs/s), 'ndr' (time to the NDR): only the
// targets in `targets`, the relay started with RELAY_ARGS[kind] (after --relay-args, so they win)
const RECEIVE_KINDS = new Set(['big', 'load', 'source']);
const NDR_FAIL_RULE = '*@fail.test=550 5.1.1 User unknown';
const NDR_SENDER = 'bench@example.test';
const RELAY_ARGS = {
  e2e: ['--mode', 'capture'],
  ndr: ['--mode', 'capture', '--archive', 'true', '--fail', NDR_FAIL_RULE, '--pickup-interval', '100ms'],
};
const WORKLOADS = {
  W1: {
    kind: 'big',
    desc: 'one transaction, 32,800 pipelined RCPT',
    args: ['--mode', 'big', '--rcpts', '32800', '--show', '32766,32767,32800'],
  },
  W2: {
    kind: 'load',
    desc: '2,000 msgs x 1 rcpt, 4 connections',
    messages: 2000,
    args: ['--mode', 'load', '--messages', '2000', '--rcpts', '1', '--conns', '4'],
  },
  W2c: {
    kind: 'source',
    desc: '2,000 msgs x 1 rcpt, new connection per message (smtp-source, 4 sessions)',
    messages: 2000,
    args: ['-c', '-l', '2048', '-m', '2000', '-s', '4', '-f', 'a@example.org', '-t', 'user@example.test'],
  },
  W3: {
    kind: 'load',
    desc: '200 msgs x 100 rcpt, 4 connections',
    messages: 200,
    args: ['--mode', 'load', '--messages', '200', '--rcpts', '100', '--conns', '4'],
  },
  // smtpload sends every message to user1..userR@example.test: R mailboxes with M files each
  E2: {
    kind: 'e2e',
    desc: '2,000 msgs x 1 rcpt, 4 connections, end to end',
    targets: ['postfix', 'ims'],
    messages: 2000,
    rcpts: 1,
    args: ['--mode', 'load', '--messages', '2000', '--rcpts', '1', '--conns', '4'],
  },
  E3: {
    kind: 'e2e',
    desc: '200 msgs x 100 rcpt, 4 connections, end to end',
    targets: ['postfix', 'ims'],
    messages: 200,
    rcpts: 100,
    args: ['--mode', 'load', '--messages', '200', '--rcpts', '100', '--conns', '4'],
  },
  E4: {
    kind: 'e2e',
    desc: '200 msgs x 1,000 rcpt, 4 connections, end to end (goal: >= 100 msgs/s, <= 150 MB)',
    targets: ['ims'],
    messages: 200,
    rcpts: 1000,
    args: ['--mode', 'load', '--messages', '200', '--rcpts', '1000', '--conns', '4'],
  },
  NDR32766: {
    kind: 'ndr',
    desc: 'NDR for 32,766 failed recipients (pickup file)',
    targets: ['ims'],
    rcpts: 32766,
  },
  NDR100000: {
    kind: 'ndr',
    desc: 'NDR for 100,000 failed recipients (pickup file)',
    targets: ['ims'],
    rcpts: 100000,
  },
};
const appliesTo = (wl, t) => !WORKLOADS[wl].targets || WORKLOADS[wl].targets.includes(t);

// ratio = ims metric / other target's metric; time ratios want <=, throughput ratios want >=
const GOALS = [
  {
    id: 'W1-postfix',
    wl: 'W1',
    metric: 'ms',
    vs: 'postfix',
    op: '<=',
    limit: 0.25,
    text: 'W1 time <= 0.25 x Postfix',
  },
  {
    id: 'W1-floor',
    wl: 'W1',
    metric: 'ms',
    vs: 'floor',
    op: '<=',
    limit: 1.3,
    text: 'W1 time <= 1.3 x smtp-server floor',
  },
  {
    id: 'W1-peak',
    wl: 'W1',
    metric: 'peakMB',
    vs: null,
    op: '<=',
    limit: 150,
    text: 'W1 peak RSS <= 150 MB',
  },
  {
    id: 'W2-postfix',
    wl: 'W2',
    metric: 'mps',
    vs: 'postfix',
    op: '>=',
    limit: 1.2,
    text: 'W2 msgs/s >= 1.2 x Postfix',
  },
  {
    id: 'W2c-postfix',
    wl: 'W2c',
    metric: 'mps',
    vs: 'postfix',
    op: '>=',
    limit: 0.8,
    text: 'W2c msgs/s >= 0.8 x Postfix',
  },
  {
    id: 'W3-postfix',
    wl: 'W3',
    metric: 'mps',
    vs: 'postfix',
    op: '>=',
    limit: 3,
    text: 'W3 msgs/s >= 3 x Postfix',
  },
  {
    id: 'E3-postfix',
    wl: 'E3',
    metric: 'mps',
    vs: 'postfix',
    op: '>=',
    limit: 2,
    text: 'E3 end to end >= 2 x Postfix receive-to-discard',
  },
  {
    id: 'NDR100000-time',
    wl: 'NDR100000',
    metric: 'ms',
    vs: null,
    op: '<=',
    limit: 2000,
    unit: 'ms',
    text: 'NDR100000 failure -> NDR <= 2000 ms',
  },
  {
    id: 'NDR100000-peak',
    wl: 'NDR100000',
    metric: 'peakMB',
    vs: null,
    op: '<=',
    limit: 300,
    text: 'NDR100000 peak RSS <= 300 MB',
  },
  {
    id: 'idle',
    wl: null,
    metric: 'idleMB',
    vs: null,
    op: '<=',
    limit: 80,
    text: 'idle RSS after start <= 80 MB',
  },
];

// ---------------------------------------------------------------- small helpers
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const now = () => Number(process.hrtime.bigint()) / 1e6;
const kbToMB = (kb) => (kb == null ? null : +((kb * 1024) / 1e6).toFixed(1)); // MB = 10^6 bytes

function median(xs) {
  const v = xs.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return null;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

function which(cmd, extra = []) {
  for (const dir of [...(process.env.PATH || '').split(':'), ...extra]) {
    if (!dir) continue;
    const p = path.join(dir, cmd);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return null;
}

function procStatus(pid) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const get = (k) => {
      const m = s.match(new RegExp(`^${k}:\\s+(\\d+)`, 'm'));
      return m ? Number(m[1]) : null;
    };
    const name = (s.match(/^Name:\s+(\S+)/m) || [])[1] || '?';
    return { pid, name, hwmKB: get('VmHWM'), rssKB: get('VmRSS') };
  } catch {
    return null;
  }
}

// pid plus all its descendants (scan of /proc/*/stat)
function processTree(rootPid) {
  const children = new Map();
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const st = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[1]);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push(Number(d));
    } catch {
      /* gone */
    }
  }
  const out = [];
  const stack = [rootPid];
  while (stack.length) {
    const p = stack.pop();
    out.push(p);
    for (const c of children.get(p) || []) stack.push(c);
  }
  return out;
}

// memory of a server: root process and the sum over its process tree (shared pages counted per process)
function memory(rootPid) {
  if (!rootPid) return null;
  const procs = processTree(rootPid)
    .map(procStatus)
    .filter((p) => p && p.hwmKB != null);
  if (!procs.length) return null;
  const root = procs.find((p) => p.pid === rootPid) || procs[0];
  return {
    processes: procs.length,
    hwmKB: procs.reduce((a, p) => a + p.hwmKB, 0),
    rssKB: procs.reduce((a, p) => a + p.rssKB, 0),
    rootHwmKB: root.hwmKB,
    rootRssKB: root.rssKB,
  };
}

function portOpen(port, host = '127.0.0.1', timeoutMs = 500) {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    const done = (v) => {
      s.destroy();
      resolve(v);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function cmdline(pid) {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

// a server about to be started must not find its port taken (by a server this run did not start,
// or one that did not stop): it would be measured in its place
async function ensurePortFree(port, how) {
  if (await portOpen(port)) throw new Error(`port ${port} is already in use before the start (${how})`);
}

async function waitPortClosed(port, ms = 5000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (!(await portOpen(port))) return true;
    await sleep(100);
  }
  return false;
}

// ---------------------------------------------------------------- child processes
const activeChildren = new Set();

// run a command to completion, bounded by timeoutMs (SIGTERM, then SIGKILL 3 s later)
function runCmd(cmd, args, { timeoutMs = 60000, cwd = ROOT, env = process.env } = {}) {
  return new Promise((resolve) => {
    const t0 = now();
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    let child;
    try {
      child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (e) {
      resolve({
        code: null,
        signal: null,
        stdout,
        stderr: String(e.message),
        ms: 0,
        timedOut,
        error: String(e.message),
      });
      return;
    }
    activeChildren.add(child);
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout = (stdout + d).slice(-200000)));
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr = (stderr + d).slice(-200000)));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 3000).unref();
    }, timeoutMs);
    let settled = false;
    const finish = (code, signal, error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      activeChildren.delete(child);
      resolve({ code, signal, stdout, stderr, ms: now() - t0, timedOut, error });
    };
    child.on('error', (e) => finish(null, null, String(e.message)));
    child.on('close', (code, signal) => finish(code, signal));
  });
}

// ---------------------------------------------------------------- environment
const OPT = parseArgs(process.argv.slice(2));
const TASKSET = which('taskset');
const PIN = OPT.pin && !!TASKSET && os.cpus().length >= 2;
const SERVER_PIN = PIN ? [TASKSET, '-c', '0'] : [];
const CLIENT_PIN = PIN ? [TASKSET, '-c', '1'] : [];
const SMTP_SOURCE = which('smtp-source', ['/usr/sbin', '/usr/local/sbin']);
const LAB_ENV = { ...process.env, BENCHLAB, ...(PIN ? { SERVER_TASKSET: `${TASKSET} -c 0` } : {}) };
if (!PIN) delete LAB_ENV.SERVER_TASKSET;

function withPin(pin, cmd, args) {
  return pin.length ? [pin[0], [...pin.slice(1), cmd, ...args]] : [cmd, args];
}

// ---------------------------------------------------------------- servers
// Each server object: { name, available, reason, start() -> {port, pid}, stop(), idleWaitMs }
const started = new Set(); // servers that may be running and must be stopped

const serversSh = (...args) => runCmd('bash', [SERVERS_SH, ...args], { timeoutMs: 30000, env: LAB_ENV });

const PFC = path.join(BENCHLAB, 'postfix', 'etc');
function queuedFiles() {
  let n = 0;
  const walk = (d) => {
    let ents = [];
    try {
      ents = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of ents) {
      if (e.isDirectory()) walk(path.join(d, e.name));
      else n++;
    }
  };
  for (const q of ['maildrop', 'incoming', 'active', 'deferred', 'hold'])
    walk(path.join(BENCHLAB, 'postfix', 'queue', q));
  return n;
}

function postfixServer() {
  const s = {
    name: 'postfix',
    port: 2525,
    pid: null,
    async check() {
      if (!fs.existsSync(SERVERS_SH)) return `lab not found: ${SERVERS_SH}`;
      if (!which('postfix', ['/usr/sbin'])) return 'postfix not installed (run bench/setup.sh as root)';
      if (!fs.existsSync(path.join(BENCHLAB, 'postfix', 'etc', 'main.cf')))
        return `no Postfix instance under ${BENCHLAB}/postfix (run bench/setup.sh as root)`;
      if (process.getuid && process.getuid() !== 0) return 'starting the lab Postfix needs root';
      if (await portOpen(2525))
        return 'port 2525 already in use (not started by this bench; stop it with ../shared/bench/servers.sh stop postfix)';
      return null;
    },
    async start() {
      await ensurePortFree(2525, '../shared/bench/servers.sh stop postfix');
      started.add(s);
      // leftovers of an earlier (interrupted) run would be delivered during this run: delete them
      const n = queuedFiles();
      if (n)
        spawnSync(which('postsuper', ['/usr/sbin']) || 'postsuper', ['-c', PFC, '-d', 'ALL'], {
          stdio: 'ignore',
          timeout: 30000,
        });
      const r = await serversSh('start', 'postfix');
      const pidFile = path.join(BENCHLAB, 'postfix', 'queue', 'pid', 'master.pid');
      let pid = null;
      try {
        pid = Number(fs.readFileSync(pidFile, 'utf8').trim()) || null;
      } catch {
        /* none */
      }
      if (r.code !== 0 || !pid || !(await portOpen(2525)))
        throw new Error(`postfix did not start: ${r.stdout}${r.stderr}`);
      s.pid = pid;
      return { port: 2525, pid };
    },
    // wait until Postfix has delivered (discarded) what the run queued, so that it does not
    // spill into the next run; bounded
    async drain(ms = 60000) {
      const t0 = now();
      while (now() - t0 < ms) {
        if (queuedFiles() === 0) return +(now() - t0).toFixed(0);
        await sleep(100);
      }
      return null;
    },
    async stop() {
      const pid = s.pid;
      await serversSh('stop', 'postfix');
      for (let i = 0; i < 50 && pid && alive(pid); i++) await sleep(100);
      if (pid && alive(pid) && /master/.test(cmdline(pid))) {
        spawnSync(which('postfix', ['/usr/sbin']) || 'postfix', ['-c', PFC, 'abort'], {
          stdio: 'ignore',
          timeout: 30000,
        });
      }
      const closed = await waitPortClosed(2525);
      s.pid = null;
      started.delete(s);
      if (!closed) throw new Error('Postfix still listens on 2525 after stop');
    },
  };
  return s;
}

function floorServer() {
  const lib = path.join(BENCHLAB, 'node_modules', 'smtp-server');
  const s = {
    name: 'floor',
    port: 2527,
    pid: null,
    async check() {
      if (!fs.existsSync(SERVERS_SH)) return `lab not found: ${SERVERS_SH}`;
      if (!fs.existsSync(path.join(lib, 'package.json')))
        return `smtp-server not installed in ${BENCHLAB} (run bench/setup.sh)`;
      const script = path.join(BENCHLAB, 'smtpserver.mjs');
      if (!fs.existsSync(script)) {
        // servers.sh runs $BENCHLAB/smtpserver.mjs: link it to the lab's copy (what setup.sh does)
        try {
          fs.symlinkSync(path.join(LAB, 'smtpserver.mjs'), script);
        } catch (e) {
          return `cannot link ${script}: ${e.message}`;
        }
      }
      if (await portOpen(2527))
        return 'port 2527 already in use (not started by this bench; stop it with ../shared/bench/servers.sh stop node)';
      return null;
    },
    async start() {
      await ensurePortFree(2527, '../shared/bench/servers.sh stop node');
      started.add(s);
      // a new spool folder per run instead of the lab's $BENCHLAB/spool, which servers.sh deletes
      // and makes again at every start (see newRunFolder)
      const r = await serversSh('start', 'node', lib, '--spool', newRunFolder('floor-'));
      let pid = null;
      try {
        pid = Number(fs.readFileSync(path.join(BENCHLAB, 'run', 'node.pid'), 'utf8').trim()) || null;
      } catch {
        /* none */
      }
      // the listening line names the pid that holds the port
      const listening = Number((r.stdout.match(/listening on 127\.0\.0\.1:2527 pid=(\d+)/) || [])[1]);
      if (r.code !== 0 || !pid || listening !== pid || !alive(pid) || !(await portOpen(2527)))
        throw new Error(`smtp-server floor did not start: ${r.stdout}${r.stderr}`);
      s.pid = pid;
      s.version = (r.stdout.match(/smtp-server (\S+) listening/) || [])[1];
      return { port: 2527, pid };
    },
    async stop() {
      const pid = s.pid;
      await serversSh('stop', 'node');
      // servers.sh gives it 3 s; make sure the process this run started is gone
      if (pid && alive(pid) && cmdline(pid).includes('smtpserver.mjs')) {
        process.kill(pid, 'SIGTERM');
        for (let i = 0; i < 50 && alive(pid); i++) await sleep(100);
        if (alive(pid)) process.kill(pid, 'SIGKILL');
      }
      const closed = await waitPortClosed(2527);
      s.pid = null;
      started.delete(s);
      if (!closed) throw new Error('port 2527 still open after stopping the smtp-server floor');
    },
  };
  return s;
}

function imsServer() {
  const s = {
    name: 'ims',
    pid: null,
    child: null,
    dir: null,
    async check() {
      const bin = path.join(ROOT, 'bin', 'ims-relay.js');
      if (!fs.existsSync(bin)) return `missing ${bin}`;
      if (OPT.build) {
        console.log('building ims-relay (npm run build) ...');
        const r = await runCmd('npm', ['run', 'build'], { timeoutMs: 300000 });
        if (r.code !== 0) {
          return `npm run build failed (exit ${r.code}${r.timedOut ? ', timed out' : ''}):\n${(r.stdout + r.stderr).trim().split('\n').slice(-15).join('\n')}`;
        }
      }
      if (!fs.existsSync(path.join(ROOT, 'dist', 'cli', 'main.js')))
        return 'dist/cli/main.js missing (npm run build)';
      // every run starts the relay from a copy of bin/, dist/ and package.json taken now
      // (node_modules linked), so that a rebuild of dist/ while the bench runs (another build, a
      // test run's pretest) cannot change the relay between runs or under a running one
      try {
        s.root = snapshotBuild();
      } catch (e) {
        return `cannot copy the build: ${e.message}`;
      }
      // a relay with the admin API (--http, default 127.0.0.1:8025) gets a free port for it, as
      // for SMTP: the API stays on as shipped, and a fixed port taken by anything else on this
      // machine cannot keep the relay from starting
      const help = spawnSync(
        process.execPath,
        [path.join(s.root, 'bin', 'ims-relay.js'), 'serve', '--help'],
        {
          cwd: s.root,
          encoding: 'utf8',
          timeout: 30000,
        },
      );
      s.httpArgs = /^\s*--http\b/m.test(help.stdout || '') ? ['--http', '127.0.0.1:0'] : [];
      return null;
    },
    // extraArgs: the workload's own settings (RELAY_ARGS), after --relay-args so that they win
    async start(extraArgs = []) {
      started.add(s);
      s.dir = newRunFolder('ims-');
      const spool = path.join(s.dir, 'spool');
      fs.mkdirSync(spool);
      s.spool = spool;
      const logFile = path.join(s.dir, 'relay.out');
      const fd = fs.openSync(logFile, 'w');
      const relayArgs = [
        path.join(s.root, 'bin', 'ims-relay.js'),
        'serve',
        '--smtp',
        '127.0.0.1:0',
        '--spool',
        spool,
        ...(s.httpArgs || []),
        // receive benchmarks: accept into the durable spool and deliver nowhere (Postfix's side
        // discards); --relay-args come after and win, e.g. --relay-args "--mode capture"
        '--mode',
        'hold',
        '--log-level',
        'warn',
        ...OPT.relayArgs,
        ...extraArgs,
      ];
      const [cmd, args] = withPin(SERVER_PIN, process.execPath, relayArgs);
      // stdout/stderr go to a file, so that log volume never blocks the relay on a pipe nor costs this process CPU
      // IMS_RELAY_* settings from the caller's environment would change what is measured: only
      // --relay-args configure the relay here
      const env = Object.fromEntries(
        Object.entries(process.env).filter(([k]) => !k.startsWith('IMS_RELAY_')),
      );
      const child = spawn(cmd, args, { cwd: s.root, env, stdio: ['ignore', fd, fd] });
      fs.closeSync(fd);
      s.child = child;
      s.pid = child.pid;
      s.exited = false;
      s.exitInfo = null;
      s.exitPromise = new Promise((resolve) => {
        child.on('exit', (code, signal) => {
          s.exited = true;
          s.exitInfo = { code, signal };
          resolve();
        });
        child.on('error', (e) => {
          s.exited = true;
          s.exitInfo = { error: String(e.message) };
          resolve();
        });
      });
      activeChildren.add(child);
      // the ready line, a JSON line: {"ready":true,…,"message":"ims-relay ready: SMTP on 127.0.0.1:40123, spool ..."}
      const end = Date.now() + 30000;
      while (Date.now() < end) {
        const text = fs.readFileSync(logFile, 'utf8');
        for (const line of text.split('\n')) {
          if (line.startsWith('{') && !line.includes('"ready":true')) continue; // the other JSON log lines
          const m = line.match(/SMTP on ([^\s,]+):(\d+)/);
          if (m) {
            if (!/^127\.\d+\.\d+\.\d+$/.test(m[1]))
              throw new Error(`ims-relay listens on ${m[1]}, not loopback`);
            s.readyLine = line.trim();
            return { port: Number(m[2]), pid: child.pid, host: m[1] };
          }
        }
        if (s.exited)
          throw new Error(
            `ims-relay exited before ready (${JSON.stringify(s.exitInfo)}):\n${text.split('\n').slice(-15).join('\n')}`,
          );
        await sleep(50);
      }
      throw new Error(
        `ims-relay printed no ready line within 30 s:\n${fs.readFileSync(logFile, 'utf8').split('\n').slice(-15).join('\n')}`,
      );
    },
    async stop() {
      const child = s.child;
      let clean = true;
      const t0 = now();
      if (child && !s.exited) {
        child.kill('SIGTERM');
        const t = setTimeout(() => {
          clean = false;
          child.kill('SIGKILL');
        }, 15000);
        await s.exitPromise;
        clearTimeout(t);
      }
      if (child) activeChildren.delete(child);
      s.lastStop = { clean, exit: s.exitInfo, stopMs: +(now() - t0).toFixed(0) };
      s.child = null;
      s.pid = null;
      // the folder stays until the bench ends (see newRunFolder)
      s.dir = null;
      s.spool = null;
      started.delete(s);
      return s.lastStop;
    },
  };
  return s;
}

async function stopAll() {
  for (const s of [...started]) {
    try {
      await s.stop();
    } catch (e) {
      console.error(`stopping ${s.name}: ${e.message}`);
    }
  }
  for (const d of snapshots) fs.rmSync(d, { recursive: true, force: true });
  snapshots.clear();
  if (runFolders) fs.rmSync(runFolders, { recursive: true, force: true });
  runFolders = null;
}

// Where the floor and ims-relay runs keep their files. On this VM's ext4 (no journal), making a
// file costs time in proportion to the inodes deleted in its block group within the last minutes
// (the kernel's recently_deleted() check: up to ~1 ms per file after a few thousand deletions),
// so a run that creates files right after another run's files were deleted pays for that
// deletion. To keep each server paying only for what it does itself:
//   - every run gets a new folder, and none is deleted before the bench ends;
//   - the folders' parent has the ext4 "top directory" flag (chattr +T), so that each new folder
//     is placed in another block group, away from what Postfix deletes in its own queue.
// Postfix keeps its queue where the lab put it, and pays for its own deletions, as it would in
// any sustained run on this file system.
let runFolders = null; // the parent of every run's folder, made at the first run
function newRunFolder(prefix) {
  if (!runFolders) {
    const base = fs.existsSync(BENCHLAB) ? BENCHLAB : os.tmpdir();
    runFolders = fs.mkdtempSync(path.join(base, 'bench-runs-'));
    const r = spawnSync('chattr', ['+T', runFolders], { encoding: 'utf8', timeout: 10000 });
    if (r.status !== 0)
      console.log(
        `note: chattr +T ${runFolders} failed (${(r.stderr || r.error?.message || '').trim()}): run folders share block groups`,
      );
  }
  return fs.mkdtempSync(path.join(runFolders, prefix));
}

// a copy of the relay as built now: bin/, dist/, package.json, and a link to node_modules
const snapshots = new Set();
let buildInfo = null; // { at, git } of the copy the ims-relay runs use
function snapshotBuild() {
  const base = fs.existsSync(BENCHLAB) ? BENCHLAB : os.tmpdir();
  const dir = fs.mkdtempSync(path.join(base, 'ims-build-'));
  snapshots.add(dir);
  for (const d of ['bin', 'dist']) fs.cpSync(path.join(ROOT, d), path.join(dir, d), { recursive: true });
  fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(dir, 'package.json'));
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  buildInfo = { at: new Date().toISOString(), git: gitState() };
  return dir;
}

// the commit and the uncommitted files the measured build came from (read-only git commands)
function gitState() {
  const git = (...a) => spawnSync('git', a, { cwd: ROOT, encoding: 'utf8', timeout: 10000 });
  const head = git('rev-parse', '--short', 'HEAD');
  if (head.status !== 0) return null;
  const dirty = git('status', '--porcelain', '--', 'src', 'bin', 'package.json');
  return {
    commit: head.stdout.trim(),
    uncommitted: (dirty.stdout || '')
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => l.slice(3)),
  };
}

// ---------------------------------------------------------------- end to end and NDR
const POLL_MS = 20; // how often the destination (Maildirs, Postfix's queue) is looked at
const wallNow = () => performance.timeOrigin + performance.now(); // epoch ms, sub-ms resolution

// capture mode keeps each message once in <spool>/store/, one index row per recipient: the
// destination is read from the store's SQLite index (a reader beside the relay, as
// `ims-relay mailbox` is); a box is an address, a "file" one delivery to it
const Database = createRequire(import.meta.url)('better-sqlite3');
function storeQuery(spool, sql, fallback) {
  const file = path.join(spool, 'store', 'index.sqlite');
  if (!fs.existsSync(file)) return fallback;
  let db;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true, timeout: 5000 });
    return db.prepare(sql).all();
  } catch {
    return fallback;
  } finally {
    db?.close();
  }
}

// deliveries captured so far (recipient rows in the index)
function storeCounter(spool) {
  return () => storeQuery(spool, 'SELECT count(*) AS n FROM recipients', [{ n: 0 }])[0].n;
}

// every recipient with captured mail and its number of messages
function storeCensus(spool) {
  const boxes = {};
  let files = 0;
  for (const r of storeQuery(spool, 'SELECT address, count(*) AS n FROM recipients GROUP BY address', [])) {
    boxes[r.address] = r.n;
    files += r.n;
  }
  return { boxes, files };
}

function parseResult(stdout) {
  const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
  try {
    return line ? JSON.parse(line.slice(7)) : null;
  } catch {
    return null;
  }
}

// E2/E3: smtpload sends; meanwhile the destination is polled every POLL_MS. ims-relay (capture
// mode): done when every expected Maildir file exists. Postfix: done at the first look after the
// last message was accepted that finds its queue empty (queuedFiles(), as drain() uses). Times run
// from the client's first connect (BENCH_T0 from mark-start.mjs) to that look.
async function runE2E(W, port, label, server) {
  const t = OPT.timeoutMs;
  const tSpawn = wallNow();
  const deadline = tSpawn + t;
  const expected = W.messages * W.rcpts;
  const isIms = server.name === 'ims';
  const count = isIms ? storeCounter(server.spool) : queuedFiles;
  const [cmd, args] = withPin(CLIENT_PIN, process.execPath, [
    '--import',
    MARK_START,
    SMTPLOAD,
    ...W.args,
    '--port',
    String(port),
    '--host',
    '127.0.0.1',
    '--timeout-ms',
    String(t),
    '--label',
    label,
  ]);
  let client = null;
  const clientP = runCmd(cmd, args, { timeoutMs: t + 15000 }).then((r) => (client = r));
  const looks = []; // [look started, look ended, count] (Postfix: every look; ims: only the last)
  let lastAccept = null; // epoch ms of the client's last accepted message
  let t0 = null;
  let res = null;
  let doneAt = null;
  let clientFailed = false;
  // the client's RESULT and its BENCH_T0 mark, once it has exited
  const readClient = () => {
    res = parseResult(client.stdout) || false;
    const m = client.stderr.match(/^BENCH_T0 ([\d.]+)$/m);
    t0 = m ? Number(m[1]) : null;
    if (!res || client.code !== 0 || res.error || res.accepted !== res.messages) clientFailed = true;
    else lastAccept = (t0 ?? tSpawn) + res.elapsedMs;
  };
  while (!interrupted) {
    const ts = wallNow();
    const c = count();
    const tl = wallNow();
    if (isIms) {
      looks[0] = [ts, tl, c];
      if (c >= expected) {
        doneAt = tl;
        break;
      }
    } else looks.push([ts, tl, c]);
    if (client && res === null) readClient();
    if (clientFailed) break;
    if (!isIms && lastAccept !== null) {
      // a look that started after the last 250 and found the queue empty
      const hit = looks.find(([start, , n]) => start >= lastAccept && n === 0);
      if (hit) {
        doneAt = hit[1];
        break;
      }
    }
    if (wallNow() > deadline) break;
    await sleep(POLL_MS);
  }
  // ims-relay: the messages are in the Maildirs; every entry is finished once in/ holds none (its
  // Maildir folders fsynced, its outcomes journaled, the entry removed)
  let finishedAt = null;
  if (isIms && doneAt !== null) {
    const inDir = path.join(server.spool, 'in');
    while (!interrupted && wallNow() <= deadline) {
      const look = wallNow();
      const left = fs.readdirSync(inDir).filter((n) => n.endsWith('.imsr')).length;
      if (left === 0) {
        finishedAt = Math.max(look, doneAt);
        break;
      }
      await sleep(POLL_MS);
    }
  }
  await clientP;
  if (res === null) readClient();
  const census = isIms ? storeCensus(server.spool) : null;
  const out = {
    recvMs: res ? res.elapsedMs : null,
    recvMps: res ? res.msgsPerSec : null,
    accepted: res ? res.accepted : null,
    t0Source: t0 != null ? 'first connect' : 'client spawn',
    expectedFiles: isIms ? expected : undefined,
    files: census ? census.files : undefined,
    mailboxes: census ? Object.keys(census.boxes).length : undefined,
    queueLeft: isIms ? undefined : queuedFiles(),
  };
  if (!res)
    return {
      ok: false,
      ...out,
      error: `no RESULT (exit ${client.code}${client.timedOut ? ', killed' : ''}): ${(client.stderr || client.stdout).trim().slice(-400)}`,
    };
  if (clientFailed)
    return {
      ok: false,
      ...out,
      error: res.error || res.firstFailure || (res.errors || []).join(' | ') || `exit ${client.code}`,
    };
  if (doneAt === null) {
    const left = isIms
      ? `${looks[0] ? looks[0][2] : 0} of ${expected} Maildir files`
      : `${out.queueLeft} queue files left`;
    return {
      ok: false,
      ...out,
      error: interrupted ? 'interrupted' : `not done ${t} ms after the start: ${left}`,
    };
  }
  if (isIms && (census.files !== expected || out.mailboxes !== W.rcpts)) {
    return {
      ok: false,
      ...out,
      error: `expected ${expected} files in ${W.rcpts} mailboxes, found ${census.files} in ${out.mailboxes}`,
    };
  }
  const ms = doneAt - (t0 ?? tSpawn);
  return {
    ok: true,
    ...out,
    ms: +ms.toFixed(1),
    mps: +((W.messages * 1000) / ms).toFixed(1),
    rps: +((W.messages * W.rcpts * 1000) / ms).toFixed(1),
    afterLastAcceptMs: +(doneAt - lastAccept).toFixed(1),
    ...(finishedAt !== null
      ? { finishedMps: +((W.messages * 1000) / (finishedAt - (t0 ?? tSpawn))).toFixed(1) }
      : {}),
  };
}

function readEvents(file) {
  let text = '';
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const out = [];
  for (const l of text.split('\n')) {
    if (!l) continue;
    try {
      out.push(JSON.parse(l));
    } catch {
      /* a line being written */
    }
  }
  return out;
}

// the envelope of a spool entry: "IMSR/1 <n>\n" then n bytes of JSON
function readEnvelope(file) {
  const fd = fs.openSync(file, 'r');
  try {
    const head = Buffer.alloc(64);
    const got = fs.readSync(fd, head, 0, 64, 0);
    const nl = head.subarray(0, got).indexOf(10);
    const m = head
      .subarray(0, nl)
      .toString('latin1')
      .match(/^IMSR\/1 (\d+)$/);
    if (!m) throw new Error(`not a spool entry: ${file}`);
    const buf = Buffer.alloc(Number(m[1]));
    fs.readSync(fd, buf, 0, buf.length, nl + 1);
    return JSON.parse(buf.toString('utf8'));
  } finally {
    fs.closeSync(fd);
  }
}

function findEnvelope(spool, queueId) {
  for (const dir of ['archive', 'out', 'archive', 'in']) {
    const f = path.join(spool, dir, `${queueId}.imsr`);
    try {
      return { ...readEnvelope(f), foundIn: dir };
    } catch (e) {
      if (e.code !== 'ENOENT') throw e;
    }
  }
  return null;
}

// NDR*: a pickup file from NDR_SENDER to N recipients that all fail (--fail NDR_FAIL_RULE); the
// figure is event 1110's time (the entry is queued, delivery starts) -> arrivedAt of the report
// entry (its queue ID from event 4117's data.reports); also drop -> the NDR in the sender's Maildir
async function runNdr(W, server) {
  const spool = server.spool;
  const n = W.rcpts;
  const name = `ndr-${n}`;
  const lines = [`X-Sender: <${NDR_SENDER}>`];
  for (let i = 1; i <= n; i++) lines.push(`X-Receiver: <user${i}@fail.test>`);
  lines.push(
    `From: <${NDR_SENDER}>`,
    'To: undisclosed-recipients:;',
    `Subject: bench NDR for ${n} recipients`,
    `Date: ${new Date().toUTCString().replace('GMT', '+0000')}`,
    `Message-ID: <bench.ndr.${n}.${process.pid}@example.test>`,
    '',
    'This message goes to recipients that all fail.',
    '',
  );
  const pickup = path.join(spool, 'pickup');
  fs.mkdirSync(pickup, { recursive: true });
  fs.writeFileSync(path.join(pickup, `${name}.eml.part`), lines.join('\r\n'));
  const tDrop = Date.now();
  fs.renameSync(path.join(pickup, `${name}.eml.part`), path.join(pickup, `${name}.eml`));
  const deadline = tDrop + OPT.timeoutMs;
  const sql = `SELECT m.id AS id FROM messages m JOIN recipients r ON r.seq = m.seq WHERE r.address = '${NDR_SENDER}'`;
  const eventsFile = path.join(spool, 'log', 'events.jsonl');
  let seen = null;
  let tSeen = null;
  while (!interrupted && Date.now() < deadline) {
    const files = storeQuery(spool, sql, []).map((r) => r.id);
    if (files.length) {
      tSeen = Date.now();
      seen = files;
      break;
    }
    // a pickup file the relay refused (event 4116) will never give an NDR
    if (fs.existsSync(path.join(spool, 'bad')) && fs.readdirSync(path.join(spool, 'bad')).length) break;
    await sleep(POLL_MS);
  }
  // the report's own 1101 (delivered) is logged right after its Maildir link: give it a moment
  let events = readEvents(eventsFile);
  for (
    let i = 0;
    seen && i < 50 && !events.some((e) => e.id === 1101 && e.data && e.data.delivered === 1);
    i++
  ) {
    await sleep(POLL_MS);
    events = readEvents(eventsFile);
  }
  const ev1110 = events.find((e) => e.id === 1110 && e.data && e.data.file === `${name}.eml`);
  const ev4117 = ev1110 && events.find((e) => e.id === 4117 && e.queueId === ev1110.queueId);
  const ev3041 = ev1110 && events.find((e) => e.id === 3041 && e.queueId === ev1110.queueId);
  const reportId = ev4117 && ev4117.data && ev4117.data.reports ? ev4117.data.reports[0] : null;
  const ev1101 = reportId && events.find((e) => e.id === 1101 && e.queueId === reportId);
  const out = {
    pickupId: ev1110 ? ev1110.queueId : null,
    reportId,
    failed: ev4117 ? ev4117.data.failed : null,
    delivered: ev4117 ? ev4117.data.delivered : null,
    reports: ev4117 ? ev4117.data.reports.length : null,
    listed: ev3041 ? ev3041.data.listed : ev4117 ? ev4117.data.failed : null,
    omitted: ev3041 ? ev3041.data.omitted : 0,
    pickupMs: ev1110 ? Date.parse(ev1110.time) - tDrop : null,
  };
  const bad = events.filter((e) => e.id === 4116 || e.id === 4120 || e.id === 4131).map((e) => e.message);
  if (!seen)
    return {
      ok: false,
      ...out,
      error: interrupted
        ? 'interrupted'
        : `no NDR in ${NDR_SENDER}'s Maildir within ${OPT.timeoutMs} ms${bad.length ? `: ${bad[0]}` : ''}`,
    };
  if (!ev1110 || !ev4117 || !reportId)
    return {
      ok: false,
      ...out,
      error: `events missing (1110 ${!!ev1110}, 4117 ${!!ev4117}, report ${reportId})`,
    };
  const env = findEnvelope(spool, reportId);
  if (!env) return { ok: false, ...out, error: `report ${reportId} not found in archive/ or out/` };
  const ndrFile = seen.find((f) => f.includes(reportId));
  const ok = !!ndrFile && out.failed === n && out.delivered === 0 && seen.length === 1;
  const ms = Date.parse(env.arrivedAt) - Date.parse(ev1110.time);
  return {
    ok,
    ...out,
    ms,
    mps: null,
    totalMs: tSeen - tDrop,
    deliveredEventMs: ev1101 ? Date.parse(ev1101.time) - tDrop : null,
    ndrBytes: ndrFile ? fs.statSync(path.join(spool, 'store', 'messages', `${ndrFile}.eml`)).size : null,
    ...(ok
      ? {}
      : {
          error: `unexpected outcome: failed ${out.failed}, delivered ${out.delivered}, Maildir ${seen.join(' ')}`,
        }),
  };
}

// ---------------------------------------------------------------- clients
async function runWorkload(wl, port, label, server) {
  const W = WORKLOADS[wl];
  const t = OPT.timeoutMs;
  if (W.kind === 'e2e') return runE2E(W, port, label, server);
  if (W.kind === 'ndr') return runNdr(W, server);
  if (W.kind === 'source') {
    if (!SMTP_SOURCE) return { ok: false, error: 'smtp-source not found (postfix package)' };
    const [cmd, args] = withPin(CLIENT_PIN, SMTP_SOURCE, [...W.args, `127.0.0.1:${port}`]);
    const r = await runCmd(cmd, args, { timeoutMs: t });
    const counts = r.stdout
      .split(/[\r\n]+/)
      .filter((x) => /^\d+$/.test(x.trim()))
      .map(Number);
    const last = counts.length ? counts[counts.length - 1] : null;
    const errLines = r.stderr.split('\n').filter((l) => l.trim());
    const ok =
      r.code === 0 && !r.timedOut && last === W.messages && !errLines.some((l) => /fatal|error/i.test(l));
    return {
      ok,
      ms: +r.ms.toFixed(1),
      mps: ok ? +((W.messages * 1000) / r.ms).toFixed(1) : null,
      sent: last,
      ...(ok
        ? {}
        : {
            error: r.timedOut
              ? `timed out after ${t} ms`
              : `exit ${r.code}: ${errLines.slice(0, 5).join(' | ')}`,
          }),
    };
  }
  const [cmd, args] = withPin(CLIENT_PIN, process.execPath, [
    SMTPLOAD,
    ...W.args,
    '--port',
    String(port),
    '--host',
    '127.0.0.1',
    '--timeout-ms',
    String(t),
    '--label',
    label,
  ]);
  const r = await runCmd(cmd, args, { timeoutMs: t + 15000 });
  const line = r.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  let res = null;
  try {
    res = line ? JSON.parse(line.slice(7)) : null;
  } catch {
    /* bad json */
  }
  if (!res)
    return {
      ok: false,
      error: `no RESULT (exit ${r.code}${r.timedOut ? ', killed' : ''}): ${(r.stderr || r.stdout).trim().slice(-400)}`,
    };
  if (W.kind === 'big') {
    const ok =
      r.code === 0 &&
      !res.error &&
      res.rcpt250 === 32766 &&
      res.rcpt452 === 34 &&
      /^250/.test(res.finalReply || '');
    return {
      ok,
      ms: res.elapsedMs,
      mps: null,
      rcpt250: res.rcpt250,
      rcpt452: res.rcpt452,
      rcptOther: res.rcptOther,
      first452: res.first452,
      shown: res.shown,
      finalReply: res.finalReply,
      ...(ok
        ? {}
        : {
            error:
              res.error ||
              `unexpected replies: 250=${res.rcpt250} 452=${res.rcpt452} other=${res.rcptOther} final=${res.finalReply}`,
          }),
    };
  }
  const ok = r.code === 0 && !res.error && res.accepted === res.messages && !(res.errors || []).length;
  return {
    ok,
    ms: res.elapsedMs,
    mps: res.msgsPerSec,
    accepted: res.accepted,
    rejected: res.rejected,
    latencyMs: res.latencyMs,
    ...(ok
      ? {}
      : { error: res.error || res.firstFailure || (res.errors || []).join(' | ') || `exit ${r.code}` }),
  };
}

// ---------------------------------------------------------------- main
let interrupted = false;
async function onSignal(sig) {
  if (interrupted) return;
  interrupted = true;
  console.error(`\n${sig}: stopping clients and servers ...`);
  for (const c of activeChildren) c.kill('SIGTERM');
  await stopAll();
  process.exit(130);
}
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => onSignal(sig));

function postfixVersion() {
  const p = which('postconf', ['/usr/sbin']);
  if (!p) return null;
  const r = spawnSync(p, ['-d', '-h', 'mail_version'], { encoding: 'utf8', timeout: 10000 });
  return r.status === 0 ? r.stdout.trim() : null;
}

async function main() {
  const t0 = Date.now();
  const meta = {
    date: new Date().toISOString(),
    host: os.hostname(),
    cpu: (os.cpus()[0] || {}).model,
    cpus: os.cpus().length,
    memGB: +(os.totalmem() / 2 ** 30).toFixed(1),
    node: process.version,
    postfix: postfixVersion(),
    runs: OPT.runs,
    pinned: PIN ? 'servers taskset -c 0, client taskset -c 1' : 'no',
    relayArgs: OPT.relayArgs,
    lab: LAB,
    benchlab: BENCHLAB,
  };
  console.log(
    `ims-relay bench: targets ${OPT.targets.join(',')}; workloads ${OPT.workloads.join(',')}; ` +
      `${OPT.runs} run(s) each; pinning ${meta.pinned}; per-run timeout ${OPT.timeoutMs} ms`,
  );
  if (!fs.existsSync(SMTPLOAD)) throw new Error(`load client not found: ${SMTPLOAD} (set BENCH_LAB_DIR)`);

  const factories = { postfix: postfixServer, floor: floorServer, ims: imsServer };
  const servers = {};
  const skipped = {};
  for (const t of OPT.targets) {
    const s = factories[t]();
    const reason = await s.check();
    if (reason) {
      skipped[t] = reason;
      console.log(`skip ${TARGET_NAMES[t]}: ${reason}`);
    } else servers[t] = s;
  }
  const names = Object.keys(servers);
  if (!names.length) throw new Error('no target available');
  if (servers.ims && buildInfo) {
    meta.imsBuild = buildInfo;
    const g = buildInfo.git;
    if (g)
      console.log(
        `ims-relay build copied at ${buildInfo.at}: commit ${g.commit}` +
          (g.uncommitted.length ? ` + uncommitted ${g.uncommitted.join(', ')}` : ''),
      );
  }

  const results = {}; // results[target][wl] = [run, ...]
  const idle = {}; // idle[target] = [{rssKB, hwmKB}]
  for (const t of names) {
    results[t] = {};
    idle[t] = [];
  }

  for (const wl of OPT.workloads) {
    for (let run = 1; run <= OPT.runs; run++) {
      for (const t of names) {
        if (interrupted) return;
        if (!appliesTo(wl, t)) continue;
        const s = servers[t];
        const kind = WORKLOADS[wl].kind;
        const rec = { run };
        try {
          const { port, pid } = await s.start(RELAY_ARGS[kind] || []);
          await sleep(500); // let the fresh server settle; this is also the "idle" sample point
          const m0 = memory(pid);
          // idle = the server as the receive workloads start it (ims-relay in hold mode)
          if (m0 && RECEIVE_KINDS.has(kind))
            idle[t].push({
              rssKB: m0.rssKB,
              hwmKB: m0.hwmKB,
              rootRssKB: m0.rootRssKB,
              processes: m0.processes,
            });
          Object.assign(rec, await runWorkload(wl, port, `${t}-${wl}-${run}`, s));
          const m1 = memory(pid);
          if (m1) Object.assign(rec, { peakKB: m1.hwmKB, rootPeakKB: m1.rootHwmKB, processes: m1.processes });
          if (s.drain) {
            rec.drainMs = await s.drain();
            if (rec.drainMs == null) rec.stopNote = 'queue not empty 60 s after the run';
          }
        } catch (e) {
          Object.assign(rec, { ok: false, error: String(e.message) });
        } finally {
          try {
            const st = await s.stop();
            if (st && st.stopMs != null) rec.stopMs = st.stopMs;
            if (st && st.clean === false) rec.stopNote = 'did not exit within 15 s of SIGTERM (killed)';
          } catch (e) {
            rec.stopNote = `stop failed: ${e.message}`;
          }
        }
        if (interrupted) return; // the signal handler stops the servers and exits; write nothing
        results[t][wl] = results[t][wl] || [];
        results[t][wl].push(rec);
        let fig = `ERROR ${rec.error}`;
        if (rec.ok && kind === 'e2e')
          fig =
            `end to end ${rec.ms} ms = ${rec.mps} msgs/s, ${rec.rps} rcpts/s (receive only ${rec.recvMps} msgs/s, ` +
            `done ${rec.afterLastAcceptMs} ms after the last 250` +
            `${rec.finishedMps != null ? `, every entry finished: ${rec.finishedMps} msgs/s` : ''}), peak ${kbToMB(rec.peakKB)} MB`;
        else if (rec.ok && kind === 'ndr')
          fig =
            `failure -> NDR ${rec.ms} ms, drop -> NDR in Maildir ${rec.totalMs} ms (drop -> 1110 ${rec.pickupMs} ms), ` +
            `NDR lists ${rec.listed} (${rec.omitted} omitted), peak ${kbToMB(rec.peakKB)} MB`;
        else if (rec.ok)
          fig = `${rec.ms} ms${rec.mps != null ? `, ${rec.mps} msgs/s` : ''}, peak ${kbToMB(rec.peakKB)} MB`;
        console.log(
          `  ${wl} run ${run}/${OPT.runs} ${TARGET_NAMES[t].padEnd(17)} ${fig}${rec.stopNote ? ` (${rec.stopNote})` : ''}`,
        );
      }
    }
  }

  // ---- medians
  const summary = {};
  for (const t of names) {
    summary[t] = { workloads: {} };
    for (const wl of OPT.workloads) {
      const runs = results[t][wl] || [];
      const good = runs.filter((r) => r.ok);
      summary[t].workloads[wl] = {
        runs: runs.length,
        ok: good.length,
        ms: median(good.map((r) => r.ms)),
        mps: median(good.map((r) => r.mps)),
        peakMB: kbToMB(median(good.map((r) => r.peakKB))),
        errors: runs.filter((r) => !r.ok).map((r) => r.error),
      };
      const kind = WORKLOADS[wl].kind;
      if (kind === 'e2e' || kind === 'ndr') {
        const w = summary[t].workloads[wl];
        const extra =
          kind === 'e2e'
            ? ['rps', 'recvMps', 'recvMs', 'afterLastAcceptMs', 'finishedMps']
            : ['totalMs', 'pickupMs', 'deliveredEventMs', 'listed', 'omitted', 'ndrBytes'];
        for (const k of extra) w[k] = median(good.map((r) => r[k]));
        const peaks = good.map((r) => r.peakKB).filter((x) => x != null);
        w.peakMaxMB = peaks.length ? kbToMB(Math.max(...peaks)) : null;
      }
    }
    summary[t].idleMB = kbToMB(median(idle[t].map((x) => x.rssKB)));
    summary[t].idleProcesses = idle[t].length ? idle[t][0].processes : null;
  }
  const metric = (t, wl, key) =>
    summary[t] && summary[t].workloads[wl] ? summary[t].workloads[wl][key] : null;
  const ratio = (a, b) => (a != null && b != null && b !== 0 ? +(a / b).toFixed(3) : null);
  const wlKey = (wl) => (WORKLOADS[wl].kind === 'big' ? 'ms' : 'mps');
  const ratios = {};
  for (const wl of OPT.workloads) {
    const k = wlKey(wl);
    ratios[wl] = {
      metric: k,
      imsVsPostfix: ratio(metric('ims', wl, k), metric('postfix', wl, k)),
      imsVsFloor: ratio(metric('ims', wl, k), metric('floor', wl, k)),
    };
  }
  const goals = GOALS.filter((g) => g.wl === null || OPT.workloads.includes(g.wl)).map((g) => {
    let value = null;
    if (g.metric === 'idleMB') value = summary.ims ? summary.ims.idleMB : null;
    else if (!g.vs)
      value = metric('ims', g.wl, g.metric); // an absolute figure (peakMB, ms)
    else value = ratio(metric('ims', g.wl, g.metric), metric(g.vs, g.wl, g.metric));
    const status =
      value == null ? 'n/a' : (g.op === '<=' ? value <= g.limit : value >= g.limit) ? 'PASS' : 'MISS';
    return { id: g.id, target: g.text, value, unit: g.unit || (g.vs ? 'x' : 'MB'), status };
  });

  // ---- console table
  const fmt = (v, d = 0) =>
    v == null
      ? '-'
      : Number(v).toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
  const receiveWls = OPT.workloads.filter((wl) => RECEIVE_KINDS.has(WORKLOADS[wl].kind));
  const e2eWls = OPT.workloads.filter((wl) => WORKLOADS[wl].kind === 'e2e');
  const ndrWls = OPT.workloads.filter((wl) => WORKLOADS[wl].kind === 'ndr');
  const rows = [['workload', 'server', 'ms', 'msgs/s', 'peak RSS MB', 'ok runs']];
  for (const wl of receiveWls) {
    for (const t of names) {
      const w = summary[t].workloads[wl];
      rows.push([
        wl,
        TARGET_NAMES[t],
        fmt(w.ms),
        WORKLOADS[wl].kind === 'big' ? '-' : fmt(w.mps, 1),
        fmt(w.peakMB, 1),
        `${w.ok}/${w.runs}`,
      ]);
    }
  }
  for (const t of names)
    rows.push([
      'idle',
      TARGET_NAMES[t],
      '-',
      '-',
      fmt(summary[t].idleMB, 1) + ' (RSS)',
      `${idle[t].length} samples`,
    ]);
  console.log(`\nMedians of ${OPT.runs} run(s) (peak RSS = VmHWM summed over the server's processes):`);
  if (receiveWls.length) printTable(rows);
  if (e2eWls.length) {
    const er = [
      [
        'workload',
        'server',
        'end-to-end ms',
        'msgs/s',
        'rcpts/s',
        'receive-only msgs/s',
        'all finished msgs/s',
        'peak RSS MB',
        'ok runs',
      ],
    ];
    for (const wl of e2eWls)
      for (const t of names.filter((x) => appliesTo(wl, x))) {
        const w = summary[t].workloads[wl];
        er.push([
          wl,
          TARGET_NAMES[t],
          fmt(w.ms),
          fmt(w.mps, 1),
          fmt(w.rps, 1),
          fmt(w.recvMps, 1),
          fmt(w.finishedMps, 1),
          fmt(w.peakMB, 1),
          `${w.ok}/${w.runs}`,
        ]);
      }
    console.log(
      '\nEnd to end (ims-relay: first message sent -> every Maildir file exists, capture mode; ' +
        'Postfix: first message sent -> queue empty, discard):',
    );
    printTable(er);
  }
  if (ndrWls.length && names.includes('ims')) {
    const nr = [
      [
        'workload',
        'failure -> NDR ms',
        'drop -> NDR in Maildir ms',
        'drop -> 1110 ms',
        'listed',
        'omitted',
        'peak RSS MB',
        'max peak MB',
        'ok runs',
      ],
    ];
    for (const wl of ndrWls) {
      const w = summary.ims.workloads[wl];
      nr.push([
        wl,
        fmt(w.ms),
        fmt(w.totalMs),
        fmt(w.pickupMs),
        fmt(w.listed),
        fmt(w.omitted),
        fmt(w.peakMB, 1),
        fmt(w.peakMaxMB, 1),
        `${w.ok}/${w.runs}`,
      ]);
    }
    console.log(
      '\nNDR (ims-relay; failure = event 1110 of the pickup entry, NDR = arrivedAt of the report entry):',
    );
    printTable(nr);
  }

  if (servers.ims) {
    const rr = [['workload', 'metric', 'ims / Postfix', 'ims / floor']];
    for (const wl of [...receiveWls, ...e2eWls]) {
      rr.push([
        wl,
        ratios[wl].metric === 'ms' ? 'time' : 'msgs/s',
        fmt(ratios[wl].imsVsPostfix, 2),
        fmt(ratios[wl].imsVsFloor, 2),
      ]);
    }
    console.log('\nRatios (ims-relay divided by the other server):');
    printTable(rr);
  }
  console.log('\nTargets (figures, not assertions):');
  for (const g of goals) {
    console.log(
      `  ${g.status.padEnd(4)}  ${g.target.padEnd(48)} measured ${g.value == null ? 'n/a' : `${g.value} ${g.unit}`}`,
    );
  }
  const errs = [];
  for (const t of names)
    for (const wl of OPT.workloads)
      for (const e of summary[t].workloads[wl].errors) errs.push(`${TARGET_NAMES[t]} ${wl}: ${e}`);
  if (errs.length) console.log(`\nFailed runs (left out of the medians):\n  ${errs.join('\n  ')}`);
  for (const [t, r] of Object.entries(skipped)) console.log(`\nskipped ${TARGET_NAMES[t]}: ${r}`);

  // ---- markdown
  const md = markdown(meta, summary, ratios, goals, names, skipped, fmt);
  console.log('\nMarkdown (for docs/performance.md):\n');
  console.log(md);

  // ---- files
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  const out = {
    meta: { ...meta, elapsedS: Math.round((Date.now() - t0) / 1000) },
    skipped,
    summary,
    ratios,
    goals,
    idle,
    runs: results,
  };
  await writeFormatted(path.join(RESULTS_DIR, 'latest.json'), JSON.stringify(out, null, 2) + '\n');
  await writeFormatted(path.join(RESULTS_DIR, 'latest.md'), md + '\n');
  console.log(
    `wrote ${path.relative(ROOT, path.join(RESULTS_DIR, 'latest.json'))} and latest.md (${out.meta.elapsedS} s)`,
  );
}

// write through the project's own prettier (a devDependency) when it is installed, so that the
// committed results pass `npm run lint`; plain text otherwise
async function writeFormatted(file, text) {
  let out = text;
  try {
    const prettier = await import('prettier');
    const config = (await prettier.resolveConfig(file)) || {};
    out = await prettier.format(text, { ...config, filepath: file });
  } catch {
    /* prettier not installed: keep the text as it is */
  }
  fs.writeFileSync(file, out);
}

function printTable(rows) {
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  rows.forEach((r, j) => {
    console.log(
      '  ' + r.map((c, i) => (i < 2 ? String(c).padEnd(w[i]) : String(c).padStart(w[i]))).join('  '),
    );
    if (j === 0) console.log('  ' + w.map((n) => '-'.repeat(n)).join('  '));
  });
}

function markdown(meta, summary, ratios, goals, names, skipped, fmt) {
  const has = (t) => names.includes(t);
  const cell = (t, wl, k, d) => (has(t) ? fmt(summary[t].workloads[wl][k], d) : 'n/a');
  const goalFor = (id) => goals.find((g) => g.id === id);
  const lines = [];
  lines.push(
    `Measured ${meta.date.slice(0, 10)} on ${meta.cpus} × ${meta.cpu || 'CPU'}, ${meta.memGB} GiB, Node ${meta.node}` +
      `${meta.postfix ? `, Postfix ${meta.postfix}` : ''}; medians of ${meta.runs} run(s); pinned: ${meta.pinned}` +
      `${meta.relayArgs.length ? `; relay args \`${meta.relayArgs.join(' ')}\`` : ''}` +
      `${meta.imsBuild && meta.imsBuild.git ? `; ims-relay built from ${meta.imsBuild.git.commit}${meta.imsBuild.git.uncommitted.length ? ` + ${meta.imsBuild.git.uncommitted.length} uncommitted file(s)` : ''}` : ''}.`,
  );
  const tgt = (ids) => ids.map((id) => goalFor(id)).filter(Boolean);
  const goalCells = (wl) => {
    const gs = tgt(GOALS.filter((g) => g.wl === wl).map((g) => g.id));
    return `${gs.map((g) => g.target.replace(/^\S+ /, '')).join('; ') || '-'} | ${gs.map((g) => g.status).join(', ') || '-'}`;
  };
  const selected = (kind) => Object.keys(WORKLOADS).filter((wl) => ratios[wl] && WORKLOADS[wl].kind === kind);
  const e2e = selected('e2e');
  const ndr = selected('ndr').filter(() => has('ims'));
  const receive = Object.keys(WORKLOADS).filter((wl) => ratios[wl] && RECEIVE_KINDS.has(WORKLOADS[wl].kind));
  if (receive.length) {
    lines.push('');
    lines.push('Receive path (ims-relay in hold mode: accepted into the durable spool, delivered nowhere):');
    lines.push('');
    lines.push(
      '| workload | Postfix | smtp-server floor | ims-relay | ims / Postfix | ims / floor | target | result |',
    );
    lines.push('|---|---:|---:|---:|---:|---:|---|---|');
  }
  for (const wl of receive) {
    const k = ratios[wl].metric;
    const unit = k === 'ms' ? 'ms' : 'msgs/s';
    const gs = tgt(GOALS.filter((g) => g.wl === wl && g.metric !== 'peakMB').map((g) => g.id));
    lines.push(
      `| ${wl}: ${WORKLOADS[wl].desc} (${unit}) | ${cell('postfix', wl, k, k === 'ms' ? 0 : 1)} | ${cell('floor', wl, k, k === 'ms' ? 0 : 1)} | ` +
        `${cell('ims', wl, k, k === 'ms' ? 0 : 1)} | ${fmt(ratios[wl].imsVsPostfix, 2)} | ${fmt(ratios[wl].imsVsFloor, 2)} | ` +
        `${gs.map((g) => g.target.replace(/^\S+ /, '')).join('; ') || '-'} | ${gs.map((g) => g.status).join(', ') || '-'} |`,
    );
  }
  if (ratios.W1 && receive.length) {
    const g = goalFor('W1-peak');
    lines.push(
      `| peak RSS in W1 (MB) | ${cell('postfix', 'W1', 'peakMB', 1)} | ${cell('floor', 'W1', 'peakMB', 1)} | ${cell('ims', 'W1', 'peakMB', 1)} | | | ≤ 150 MB | ${g ? g.status : '-'} |`,
    );
  }
  const gi = goalFor('idle');
  const idleCell = (t) => (has(t) ? fmt(summary[t].idleMB, 1) : 'n/a');
  if (receive.length)
    lines.push(
      `| RSS right after start (MB) | ${idleCell('postfix')} | ${idleCell('floor')} | ${idleCell('ims')} | | | ≤ 80 MB | ${gi ? gi.status : '-'} |`,
    );
  if (e2e.length) {
    lines.push('');
    lines.push(
      'End to end (ims-relay in capture mode: first message sent -> every Maildir file exists; ' +
        "Postfix: first message sent -> its queue is empty again, discard transport; 'receive only' is smtpload's own msgs/s in the same run; " +
        "'all finished' runs to the first look that finds ims-relay's in/ empty: every entry's folders fsynced, outcomes journaled, entry removed):",
    );
    lines.push('');
    lines.push(
      '| workload | Postfix receive-to-discard (msgs/s) | ims-relay end to end (msgs/s) | ims-relay end to end (rcpts/s) | ims / Postfix | ' +
        'receive only, Postfix (msgs/s) | receive only, ims-relay (msgs/s) | ims-relay all finished (msgs/s) | ims-relay peak RSS (MB) | target | result |',
    );
    lines.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|');
    for (const wl of e2e)
      lines.push(
        `| ${wl}: ${WORKLOADS[wl].desc} | ${cell('postfix', wl, 'mps', 1)} | ${cell('ims', wl, 'mps', 1)} | ${cell('ims', wl, 'rps', 1)} | ` +
          `${fmt(ratios[wl].imsVsPostfix, 2)} | ${cell('postfix', wl, 'recvMps', 1)} | ${cell('ims', wl, 'recvMps', 1)} | ` +
          `${cell('ims', wl, 'finishedMps', 1)} | ${cell('ims', wl, 'peakMB', 1)} | ${goalCells(wl)} |`,
      );
  }
  if (ndr.length) {
    lines.push('');
    lines.push(
      `NDR (ims-relay \`${RELAY_ARGS.ndr.map((a) => (/\s/.test(a) ? `'${a}'` : a)).join(' ')}\`, a fresh relay per run; ` +
        'a pickup file from bench@example.test to N recipients user1..userN@fail.test that all fail; ' +
        "failure -> NDR = event 1110's time (pickup entry queued, delivery starts) to the report entry's arrivedAt):",
    );
    lines.push('');
    lines.push(
      "| workload | failure -> NDR in out/ (ms) | drop -> NDR in the sender's Maildir (ms) | drop -> entry queued, 1110 (ms) | " +
        'recipients listed / omitted | peak RSS (MB) | max peak RSS (MB) | target | result |',
    );
    lines.push('|---|---:|---:|---:|---:|---:|---:|---|---|');
    for (const wl of ndr) {
      const w = summary.ims.workloads[wl];
      lines.push(
        `| ${wl}: ${WORKLOADS[wl].desc} | ${fmt(w.ms)} | ${fmt(w.totalMs)} | ${fmt(w.pickupMs)} | ${fmt(w.listed)} / ${fmt(w.omitted)} | ` +
          `${fmt(w.peakMB, 1)} | ${fmt(w.peakMaxMB, 1)} | ${goalCells(wl)} |`,
      );
    }
  }
  lines.push('');
  lines.push(
    "Peak RSS is VmHWM summed over the server's processes (Postfix: master and all its children, shared pages counted per process); " +
      'MB = 10^6 bytes. Each run starts a fresh server. W1 is one transaction (time, lower is better); W2, W2c, W3, E2, E3 are msgs/s (higher is better); ' +
      'NDR* are times (lower is better).',
  );
  for (const [t, r] of Object.entries(skipped))
    lines.push(`\n${TARGET_NAMES[t]} not measured: ${r.split('\n')[0]}`);
  return lines.join('\n');
}

main()
  .catch((e) => {
    console.error(`bench failed: ${e.stack || e.message}`);
    process.exitCode = 1;
  })
  .finally(async () => {
    await stopAll();
  });
