// From the runs to the figures: medians over the successful runs of each workload and server, the
// ratios ims-relay / Postfix and ims-relay / floor, and the goals evaluated on them.
import { kbToMB } from '../measure/memory.mjs';
import { WORKLOADS } from '../workloads/index.mjs';
import { evaluateGoals } from './goals.mjs';

export function median(xs) {
  const v = xs.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return null;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

/** The figures besides ms, msgs/s and peak RSS that a kind of workload records (medians of them). */
const EXTRA_FIGURES = {
  e2e: ['rps', 'recvMps', 'recvMs', 'afterLastAcceptMs', 'finishedMps'],
  ndr: ['totalMs', 'pickupMs', 'deliveredEventMs', 'listed', 'omitted', 'ndrBytes'],
  scale: ['directMps', 'gain', 'directCpuMs', 'relaysCpuMs', 'haproxyCpuMs', 'shareA', 'shareB'],
  deep: [
    'fillMs',
    'listMs',
    'countMs',
    'filteredCountMs',
    'heldListMs',
    'jsonListMs',
    'startHoldMs',
    'apiFirstRequestMs',
    'apiFirstPageMs',
    'apiCountMs',
    'apiListMs',
    'rssBeforeMB',
    'rssAfterMB',
    'listRssGrowthMB',
    'startRelayMs',
    'startCaptureMs',
    'injectMs',
    'injectMps',
  ],
};

/** The figure the ratios compare: time for one transaction or a listing, msgs/s otherwise. */
const ratioKey = (wl) => (['big', 'deep'].includes(WORKLOADS[wl].kind) ? 'ms' : 'mps');

/** results[target][wl] = [run, ...]; idle[target] = [{rssKB, ...}] */
export function summarize(workloads, names, results, idle) {
  const summary = {};
  for (const t of names) {
    summary[t] = { workloads: {} };
    for (const wl of workloads) {
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
      if (EXTRA_FIGURES[kind]) {
        const w = summary[t].workloads[wl];
        for (const k of EXTRA_FIGURES[kind]) w[k] = median(good.map((r) => r[k]));
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
  const ratios = {};
  for (const wl of workloads) {
    const k = ratioKey(wl);
    ratios[wl] = {
      metric: k,
      imsVsPostfix: ratio(metric('ims', wl, k), metric('postfix', wl, k)),
      imsVsFloor: ratio(metric('ims', wl, k), metric('floor', wl, k)),
    };
  }
  const goals = evaluateGoals(workloads, summary, metric, ratio);
  return { summary, ratios, goals };
}
