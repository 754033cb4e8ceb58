// ims-relay: built once (npm run build unless --no-build), copied (bin/, dist/, package.json), and
// started from that copy for every run with a fresh spool: `serve --smtp 127.0.0.1:0 --mode hold
// --log-level warn [--http 127.0.0.1:0] [--relay-args] [the workload's args]`; the port is read
// from its ready line. Stopped with SIGTERM (SIGKILL after 15 s).
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from '../lib/paths.mjs';
import { activeChildren, now, runCmd, sleep, withPin } from '../lib/processes.mjs';
import { settings } from '../lib/settings.mjs';
import { newRunFolder, snapshotBuild } from './run-files.mjs';
import { started } from './started.mjs';

export function imsServer() {
  const s = {
    name: 'ims',
    pid: null,
    child: null,
    dir: null,
    async check() {
      const bin = path.join(ROOT, 'bin', 'ims-relay.js');
      if (!fs.existsSync(bin)) return `missing ${bin}`;
      if (settings.opt.build) {
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
    // options: spool (a spool made beforehand instead of a fresh one), pin (false: not on CPU 0)
    async start(extraArgs = [], { spool: given, pin = true } = {}) {
      started.add(s);
      s.dir = newRunFolder('ims-');
      const spool = given ?? path.join(s.dir, 'spool');
      if (!given) fs.mkdirSync(spool);
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
        ...settings.opt.relayArgs,
        ...extraArgs,
      ];
      const [cmd, args] = withPin(pin ? settings.serverPin : [], process.execPath, relayArgs);
      // stdout/stderr go to a file, so that log volume never blocks the relay on a pipe nor costs this process CPU
      // IMS_RELAY_* settings from the caller's environment would change what is measured: only
      // --relay-args configure the relay here
      const env = Object.fromEntries(
        Object.entries(process.env).filter(([k]) => !k.startsWith('IMS_RELAY_')),
      );
      s.spawnedAt = now(); // deep queue: startup is timed from here to the first greeting
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
      const end = Date.now() + (s.readyTimeoutMs ?? 30000);
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
        `ims-relay printed no ready line within ${(s.readyTimeoutMs ?? 30000) / 1000} s:\n${fs.readFileSync(logFile, 'utf8').split('\n').slice(-15).join('\n')}`,
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
