// The lab Postfix (127.0.0.1:2525, config, queue and log under $BENCHLAB/postfix), started and
// stopped with the lab's servers.sh; needs root. Its queue is emptied before a run and waited for
// after one (drain), so that one run's deliveries never spill into the next.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { BENCHLAB, PFC, SERVERS_SH } from '../lib/paths.mjs';
import {
  alive,
  cmdline,
  ensurePortFree,
  now,
  portOpen,
  runCmd,
  sleep,
  waitPortClosed,
  which,
} from '../lib/processes.mjs';
import { settings } from '../lib/settings.mjs';
import { started } from './started.mjs';

export const serversSh = (...args) =>
  runCmd('bash', [SERVERS_SH, ...args], { timeoutMs: 30000, env: settings.labEnv });

/** Files under these folders, at any depth (a Postfix queue's messages); a missing folder counts 0. */
export function filesUnder(dirs) {
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
  for (const d of dirs) walk(d);
  return n;
}

/** Files in the lab Postfix's queue (maildrop, incoming, active, deferred, hold). */
export function queuedFiles() {
  return filesUnder(
    ['maildrop', 'incoming', 'active', 'deferred', 'hold'].map((q) =>
      path.join(BENCHLAB, 'postfix', 'queue', q),
    ),
  );
}

/**
 * Makes the lab Postfix hold what it accepts, or stop doing so: HOLD at the end of DATA for every
 * client (`smtpd_end_of_data_restrictions = check_client_access static:HOLD`), so nothing is
 * delivered and its queue keeps every message. Written to the instance's main.cf with postconf
 * (only when it changes); read at the next start.
 */
export function holdInLabPostfix(on) {
  const postconf = which('postconf', ['/usr/sbin']) || 'postconf';
  const current = spawnSync(postconf, ['-c', PFC, '-n', 'smtpd_end_of_data_restrictions'], {
    encoding: 'utf8',
    timeout: 30000,
  });
  if (/static:HOLD/.test(current.stdout || '') === on) return;
  const args = on
    ? ['-c', PFC, '-e', 'smtpd_end_of_data_restrictions = check_client_access static:HOLD']
    : ['-c', PFC, '-X', 'smtpd_end_of_data_restrictions'];
  const r = spawnSync(postconf, args, { encoding: 'utf8', timeout: 30000 });
  if (r.status !== 0) throw new Error(`postconf ${args.join(' ')}: ${r.stderr || r.error?.message}`);
}

export function postfixServer() {
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
    async start(_extraArgs = [], { hold = false } = {}) {
      await ensurePortFree(2525, '../shared/bench/servers.sh stop postfix');
      started.add(s);
      // hold: what it accepts stays in its hold queue (DEEP100k); otherwise a HOLD left behind by
      // an interrupted DEEP100k run is removed
      holdInLabPostfix(hold);
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
