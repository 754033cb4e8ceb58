// W2haproxy (issue 18, docs/scaling.md): W2's shape (smtpload, N msgs x 1 rcpt, 4 connections)
// against one ims-relay directly, then through HAProxy (send-proxy, check-send-proxy, leastconn) in
// front of two ims-relays started with --proxy-protocol-from 127.0.0.1, in the same run. All in
// hold mode. Figures: msgs/s of each, the gain, and the CPU time (user + system) the servers used
// during each load. Servers are not pinned to CPU 0 here (two relays on one core could not gain);
// the client is pinned as usual.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { activeChildren, portOpen, sleep, which } from '../lib/processes.mjs';
import { cpuMs } from '../measure/memory.mjs';
import { imsServer } from '../targets/ims.mjs';
import { newRunFolder } from '../targets/run-files.mjs';
import { parseResult, smtpload } from './receive.mjs';

export const HAPROXY = () => which('haproxy', ['/usr/sbin', '/usr/local/sbin']);

async function freePort() {
  const s = net.createServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

const spooled = (spool) => fs.readdirSync(path.join(spool, 'in')).filter((n) => n.endsWith('.imsr')).length;

/** A relay like `server` (same build copy), not pinned. */
async function relay(server, extra) {
  const r = imsServer();
  Object.assign(r, { root: server.root, httpArgs: server.httpArgs });
  const { port, pid } = await r.start(extra, { pin: false });
  return { r, port, pid, spool: r.spool };
}

/** smtpload once; the CPU time the given processes used meanwhile. */
async function measured(W, port, label, pids) {
  await sleep(500); // settle, as every other run does
  const c0 = pids.map((p) => cpuMs(p));
  const r = await smtpload(W, port, label);
  const cpu = pids.map((p, i) => +((cpuMs(p) ?? 0) - (c0[i] ?? 0)).toFixed(0));
  const res = parseResult(r.stdout);
  const ok = !!res && r.code === 0 && !res.error && res.accepted === res.messages;
  return { ok, res, cpu, error: ok ? null : res?.error || res?.firstFailure || `smtpload exit ${r.code}` };
}

export async function runScaleOut(W, label, server) {
  const haproxy = HAPROXY();
  if (!haproxy) return { ok: false, error: 'haproxy not found (apt-get install haproxy)' };
  const relays = [];
  let ha = null;
  try {
    // 1. one relay directly
    const direct = await relay(server, []);
    relays.push(direct);
    const one = await measured(W, direct.port, `${label}-direct`, [direct.pid]);
    await direct.r.stop();
    if (!one.ok) return { ok: false, error: `one relay directly: ${one.error}` };

    // 2. HAProxy in front of two relays
    const a = await relay(server, ['--proxy-protocol-from', '127.0.0.1']);
    relays.push(a);
    const b = await relay(server, ['--proxy-protocol-from', '127.0.0.1']);
    relays.push(b);
    const front = await freePort();
    const cfg = path.join(newRunFolder('haproxy-'), 'haproxy.cfg');
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
    ha = spawn(haproxy, ['-db', '-f', cfg], { stdio: 'ignore' });
    activeChildren.add(ha);
    for (let i = 0; i < 250 && !(await portOpen(front)); i++) await sleep(20);
    const two = await measured(W, front, `${label}-haproxy`, [a.pid, b.pid, ha.pid]);
    const shareA = spooled(a.spool);
    const shareB = spooled(b.spool);
    const out = {
      mps: two.res?.msgsPerSec ?? null,
      directMps: one.res.msgsPerSec,
      gain: two.res ? +(two.res.msgsPerSec / one.res.msgsPerSec).toFixed(3) : null,
      directCpuMs: one.cpu[0],
      relaysCpuMs: two.cpu[0] + two.cpu[1],
      haproxyCpuMs: two.cpu[2],
      shareA,
      shareB,
      ms: two.res?.elapsedMs ?? null,
    };
    if (!two.ok) return { ok: false, ...out, error: `through HAProxy: ${two.error}` };
    // every accepted message is in exactly one of the two spools, and both got a share
    if (shareA + shareB !== W.messages || shareA === 0 || shareB === 0)
      return {
        ok: false,
        ...out,
        error: `spools hold ${shareA} + ${shareB}, expected ${W.messages} in both`,
      };
    return { ok: true, ...out };
  } finally {
    if (ha) {
      ha.kill('SIGTERM');
      activeChildren.delete(ha);
    }
    for (const r of relays) await r.r.stop().catch(() => undefined);
  }
}
