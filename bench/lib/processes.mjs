// Child processes and ports: running a bounded command, the children to stop on a signal, finding
// a program, looking whether a port is open and whether a process is alive.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { ROOT } from './paths.mjs';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const now = () => Number(process.hrtime.bigint()) / 1e6;

export function which(cmd, extra = []) {
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

export function portOpen(port, host = '127.0.0.1', timeoutMs = 500) {
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

export function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function cmdline(pid) {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

// a server about to be started must not find its port taken (by a server this run did not start,
// or one that did not stop): it would be measured in its place
export async function ensurePortFree(port, how) {
  if (await portOpen(port)) throw new Error(`port ${port} is already in use before the start (${how})`);
}

export async function waitPortClosed(port, ms = 5000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (!(await portOpen(port))) return true;
    await sleep(100);
  }
  return false;
}

// children still running, stopped on SIGINT/SIGTERM/SIGHUP
export const activeChildren = new Set();

// run a command to completion, bounded by timeoutMs (SIGTERM, then SIGKILL 3 s later)
export function runCmd(cmd, args, { timeoutMs = 60000, cwd = ROOT, env = process.env } = {}) {
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

export function withPin(pin, cmd, args) {
  return pin.length ? [pin[0], [...pin.slice(1), cmd, ...args]] : [cmd, args];
}
