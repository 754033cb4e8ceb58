#!/usr/bin/env node
// bench/run.mjs - side-by-side benchmark of ims-relay against Postfix and the bare smtp-server
// floor, on the loopback workloads of the benchmark lab (../shared/bench, see bench/README.md).
// Usage:
//   npm run bench -- [--runs N] [--quick] [--targets postfix,floor,ims]
//                    [--workloads W1,W1x100k,W1x300k,W2,W2c,W3,W2haproxy,E2,E3,E4,NDR32766,NDR100000,DEEP100k]
//                    [--relay-args "..."] [--timeout-ms MS] [--no-build] [--no-pin] [--deep-messages N]
//
// W* measure the receive path (ims-relay in hold mode), E* end to end (ims-relay in capture mode:
// accepted -> in the message store; Postfix: received -> discarded, its queue empty again),
// NDR* the non-delivery report for a pickup file whose recipients all fail (ims-relay only),
// W2haproxy W2 through HAProxy to two relays, DEEP100k a deep queue beside Postfix's postqueue -p.
//
// Every run starts a fresh server (so each peak RSS belongs to that one workload run), runs one
// bounded client against 127.0.0.1, reads the server's VmHWM, and stops the server again. Runs are
// interleaved across the targets (W1 run 1 on every target, then W1 run 2, ...) so that drift in
// the machine's load hits every target alike. Results: a console table, the targets with the
// measured ratio and PASS/MISS (figures, not assertions: the exit code is 0 either way),
// bench/results/latest.json and bench/results/latest.md (a table for docs/performance.md).
//
// This file is the run loop; the rest is in bench/lib (paths, processes, options), bench/targets
// (each server and how it starts), bench/workloads (what each workload does), bench/measure
// (memory, CPU, reading the relay's files) and bench/report (medians, goals, tables, files).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { BENCHLAB, LAB, SMTPLOAD } from './lib/paths.mjs';
import { activeChildren, sleep, which } from './lib/processes.mjs';
import { configure, settings, state } from './lib/settings.mjs';
import { memory } from './measure/memory.mjs';
import { fmt, printSummary, runFigure } from './report/console.mjs';
import { writeResults } from './report/files.mjs';
import { markdown } from './report/markdown.mjs';
import { summarize } from './report/summary.mjs';
import { SERVER_FACTORIES, TARGET_NAMES } from './targets/index.mjs';
import { copiedBuild } from './targets/run-files.mjs';
import { stopAll } from './targets/started.mjs';
import {
  appliesTo,
  RECEIVE_KINDS,
  RELAY_ARGS,
  runWorkload,
  SELF_MANAGED,
  WORKLOADS,
} from './workloads/index.mjs';

const OPT = configure(process.argv.slice(2), TARGET_NAMES, WORKLOADS).opt;

async function onSignal(sig) {
  if (state.interrupted) return;
  state.interrupted = true;
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

/** One run of one workload on one server: start, settle, measure, stop. */
async function runOnce(wl, run, t, s) {
  const kind = WORKLOADS[wl].kind;
  const rec = { run };
  let idle = null;
  try {
    if (SELF_MANAGED.has(kind)) {
      // the workload starts and stops its servers itself
      Object.assign(rec, await runWorkload(wl, null, `${t}-${wl}-${run}`, s));
      return { rec, idle };
    }
    const { port, pid } = await s.start(RELAY_ARGS[kind] || []);
    await sleep(500); // let the fresh server settle; this is also the "idle" sample point
    const m0 = memory(pid);
    // idle = the server as the receive workloads start it (ims-relay in hold mode)
    if (m0 && RECEIVE_KINDS.has(kind))
      idle = { rssKB: m0.rssKB, hwmKB: m0.hwmKB, rootRssKB: m0.rootRssKB, processes: m0.processes };
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
      if (st && st.stopMs != null && rec.stopMs == null) rec.stopMs = st.stopMs;
      if (st && st.clean === false) rec.stopNote = 'did not exit within 15 s of SIGTERM (killed)';
    } catch (e) {
      rec.stopNote = `stop failed: ${e.message}`;
    }
  }
  return { rec, idle };
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
    pinned: settings.pin ? 'servers taskset -c 0, client taskset -c 1' : 'no',
    relayArgs: OPT.relayArgs,
    lab: LAB,
    benchlab: BENCHLAB,
  };
  console.log(
    `ims-relay bench: targets ${OPT.targets.join(',')}; workloads ${OPT.workloads.join(',')}; ` +
      `${OPT.runs} run(s) each; pinning ${meta.pinned}; per-run timeout ${OPT.timeoutMs} ms`,
  );
  if (!fs.existsSync(SMTPLOAD)) throw new Error(`load client not found: ${SMTPLOAD} (set BENCH_LAB_DIR)`);

  const servers = {};
  const skipped = {};
  for (const t of OPT.targets) {
    const s = SERVER_FACTORIES[t]();
    const reason = await s.check();
    if (reason) {
      skipped[t] = reason;
      console.log(`skip ${TARGET_NAMES[t]}: ${reason}`);
    } else servers[t] = s;
  }
  const names = Object.keys(servers);
  if (!names.length) throw new Error('no target available');
  const buildInfo = copiedBuild();
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
        if (state.interrupted) return;
        if (!appliesTo(wl, t)) continue;
        const { rec, idle: sample } = await runOnce(wl, run, t, servers[t]);
        if (state.interrupted) return; // the signal handler stops the servers and exits; write nothing
        if (sample) idle[t].push(sample);
        results[t][wl] = results[t][wl] || [];
        results[t][wl].push(rec);
        const fig = runFigure(WORKLOADS[wl].kind, rec);
        console.log(
          `  ${wl} run ${run}/${OPT.runs} ${TARGET_NAMES[t].padEnd(17)} ${fig}${rec.stopNote ? ` (${rec.stopNote})` : ''}`,
        );
      }
    }
  }

  const { summary, ratios, goals } = summarize(OPT.workloads, names, results, idle);
  printSummary({
    workloads: OPT.workloads,
    runs: OPT.runs,
    names,
    summary,
    ratios,
    goals,
    idle,
    skipped,
    withIms: !!servers.ims,
  });

  const md = markdown(meta, summary, ratios, goals, names, skipped, fmt);
  console.log('\nMarkdown (for docs/performance.md):\n');
  console.log(md);

  const out = {
    meta: { ...meta, elapsedS: Math.round((Date.now() - t0) / 1000) },
    skipped,
    summary,
    ratios,
    goals,
    idle,
    runs: results,
  };
  await writeResults(out, md);
}

main()
  .catch((e) => {
    console.error(`bench failed: ${e.stack || e.message}`);
    process.exitCode = 1;
  })
  .finally(async () => {
    await stopAll();
  });
