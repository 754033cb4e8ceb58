// The bare smtp-server floor (smtp-server 3.21.6 installed under $BENCHLAB, the lab's
// smtpserver.mjs, 127.0.0.1:2527), started with the lab's servers.sh, a new spool folder per run.
import fs from 'node:fs';
import path from 'node:path';
import { BENCHLAB, LAB, SERVERS_SH } from '../lib/paths.mjs';
import { alive, cmdline, ensurePortFree, portOpen, sleep, waitPortClosed } from '../lib/processes.mjs';
import { serversSh } from './postfix.mjs';
import { newRunFolder } from './run-files.mjs';
import { started } from './started.mjs';

export function floorServer() {
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
