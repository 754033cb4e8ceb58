// End to end (E2, E3, E4): smtpload sends (with bench/mark-start.mjs preloaded, which prints the
// time of its first connect) while the destination is looked at every POLL_MS: ims-relay in
// capture mode is done when the store's index has every expected recipient row; Postfix (discard
// transport) at the first look after the last 250 that finds its queue empty.
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { MARK_START } from '../lib/paths.mjs';
import { sleep } from '../lib/processes.mjs';
import { settings, state } from '../lib/settings.mjs';
import { storeCensus, storeCounter } from '../measure/relay-files.mjs';
import { queuedFiles } from '../targets/postfix.mjs';
import { parseResult, smtpload } from './receive.mjs';

export const POLL_MS = 20; // how often the destination (the store's index, Postfix's queue) is looked at
export const wallNow = () => performance.timeOrigin + performance.now(); // epoch ms, sub-ms resolution

// E2/E3: smtpload sends; meanwhile the destination is polled every POLL_MS. ims-relay (capture
// mode): done when every expected Maildir file exists. Postfix: done at the first look after the
// last message was accepted that finds its queue empty (queuedFiles(), as drain() uses). Times run
// from the client's first connect (BENCH_T0 from mark-start.mjs) to that look.
export async function runE2E(W, port, label, server) {
  const t = settings.opt.timeoutMs;
  const tSpawn = wallNow();
  const deadline = tSpawn + t;
  const expected = W.messages * W.rcpts;
  const isIms = server.name === 'ims';
  const count = isIms ? storeCounter(server.spool) : queuedFiles;
  let client = null;
  const clientP = smtpload(W, port, label, { pre: ['--import', MARK_START] }).then((r) => (client = r));
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
  while (!state.interrupted) {
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
    while (!state.interrupted && wallNow() <= deadline) {
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
      error: state.interrupted ? 'interrupted' : `not done ${t} ms after the start: ${left}`,
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
