// What the bench prints: one line per run as it ends, then the tables of medians (receive path,
// end to end, NDR, scale-out, deep queue), the ratios, the targets with PASS/MISS, the failed
// runs and the skipped servers.
import { kbToMB } from '../measure/memory.mjs';
import { TARGET_NAMES } from '../targets/index.mjs';
import { appliesTo, RECEIVE_KINDS, WORKLOADS } from '../workloads/index.mjs';

export const fmt = (v, d = 0) =>
  v == null ? '-' : Number(v).toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

/** The figure of one run, as printed when it ends. */
export function runFigure(kind, rec) {
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
  else if (rec.ok && kind === 'scale')
    fig =
      `through HAProxy to 2 relays ${rec.mps} msgs/s, 1 relay directly ${rec.directMps} msgs/s (x${rec.gain}); ` +
      `CPU ms: 1 relay ${rec.directCpuMs}, 2 relays ${rec.relaysCpuMs} + HAProxy ${rec.haproxyCpuMs}; shares ${rec.shareA}/${rec.shareB}`;
  else if (rec.ok && kind === 'deep') fig = deepFigure(rec);
  else if (rec.ok)
    fig = `${rec.ms} ms${rec.mps != null ? `, ${rec.mps} msgs/s` : ''}, peak ${kbToMB(rec.peakKB)} MB`;
  return fig;
}

function deepFigure(rec) {
  if (rec.postqueueMs !== undefined)
    return (
      `${rec.messages} held: injected in ${rec.injectMs} ms (${rec.injectMps} msgs/s), ` +
      `postqueue -p to its last line ${rec.ms} ms (${rec.lines} lines)`
    );
  return (
    `${rec.messages} queued: queue list ${rec.listMs} ms, --count ${rec.countMs} ms, API first page ${rec.apiFirstPageMs} ms ` +
    `(first request ${rec.apiFirstRequestMs} ms), startup hold/relay/capture ${rec.startHoldMs}/${rec.startRelayMs}/${rec.startCaptureMs} ms, ` +
    `listing via the API ${rec.apiListMs} ms, RSS ${rec.rssBeforeMB} -> ${rec.rssAfterMB} MB`
  );
}

export function printSummary({ workloads, runs, names, summary, ratios, goals, idle, skipped, withIms }) {
  const receiveWls = workloads.filter((wl) => RECEIVE_KINDS.has(WORKLOADS[wl].kind));
  const e2eWls = workloads.filter((wl) => WORKLOADS[wl].kind === 'e2e');
  const ndrWls = workloads.filter((wl) => WORKLOADS[wl].kind === 'ndr');
  const scaleWls = workloads.filter((wl) => WORKLOADS[wl].kind === 'scale');
  const deepWls = workloads.filter((wl) => WORKLOADS[wl].kind === 'deep');
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
  console.log(`\nMedians of ${runs} run(s) (peak RSS = VmHWM summed over the server's processes):`);
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
  if (scaleWls.length && names.includes('ims')) printScaleOut(scaleWls, summary);
  if (deepWls.length) printDeepQueue(deepWls, names, summary);

  if (withIms) {
    const rr = [['workload', 'metric', 'ims / Postfix', 'ims / floor']];
    for (const wl of [...receiveWls, ...e2eWls, ...deepWls]) {
      rr.push([
        wl,
        WORKLOADS[wl].kind === 'deep' ? 'list time' : ratios[wl].metric === 'ms' ? 'time' : 'msgs/s',
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
    for (const wl of workloads)
      for (const e of summary[t].workloads[wl].errors) errs.push(`${TARGET_NAMES[t]} ${wl}: ${e}`);
  if (errs.length) console.log(`\nFailed runs (left out of the medians):\n  ${errs.join('\n  ')}`);
  for (const [t, r] of Object.entries(skipped)) console.log(`\nskipped ${TARGET_NAMES[t]}: ${r}`);
}

export function printTable(rows) {
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  rows.forEach((r, j) => {
    console.log(
      '  ' + r.map((c, i) => (i < 2 ? String(c).padEnd(w[i]) : String(c).padStart(w[i]))).join('  '),
    );
    if (j === 0) console.log('  ' + w.map((n) => '-'.repeat(n)).join('  '));
  });
}

function printScaleOut(wls, summary) {
  const rows = [
    [
      'workload',
      'via HAProxy, 2 relays msgs/s',
      '1 relay directly msgs/s',
      'gain',
      'CPU ms, 1 relay',
      'CPU ms, 2 relays',
      'CPU ms, HAProxy',
      'ok runs',
    ],
  ];
  for (const wl of wls) {
    const w = summary.ims.workloads[wl];
    rows.push([
      wl,
      fmt(w.mps, 1),
      fmt(w.directMps, 1),
      fmt(w.gain, 2),
      fmt(w.directCpuMs),
      fmt(w.relaysCpuMs),
      fmt(w.haproxyCpuMs),
      `${w.ok}/${w.runs}`,
    ]);
  }
  console.log(
    '\nScale-out (W2 shape; HAProxy send-proxy to two ims-relays in hold mode vs one relay directly, same run; ' +
      'CPU = user + system time of the server processes during the load):',
  );
  printTable(rows);
}

function printDeepQueue(wls, names, summary) {
  if (names.includes('ims')) {
    const rows = [
      [
        'workload',
        'queue list ms',
        '--count ms',
        'API 1st page ms',
        'start hold ms',
        'start relay ms',
        'start capture ms',
        'list via API ms',
        'RSS before MB',
        'RSS after MB',
        'ok runs',
      ],
    ];
    for (const wl of wls) {
      const w = summary.ims.workloads[wl];
      rows.push([
        wl,
        fmt(w.listMs),
        fmt(w.countMs),
        fmt(w.apiFirstPageMs, 1),
        fmt(w.startHoldMs),
        fmt(w.startRelayMs),
        fmt(w.startCaptureMs),
        fmt(w.apiListMs),
        fmt(w.rssBeforeMB, 1),
        fmt(w.rssAfterMB, 1),
        `${w.ok}/${w.runs}`,
      ]);
    }
    console.log(
      '\nDeep queue, ims-relay (hold mode; queue list and --count with the relay stopped, to the last line; ' +
        'API first page = GET /api/v1/messages?limit=50, the second request):',
    );
    printTable(rows);
  }
  if (names.includes('postfix')) {
    const rows = [['workload', 'held messages', 'injected msgs/s', 'postqueue -p ms', 'ok runs']];
    for (const wl of wls) {
      const w = summary.postfix.workloads[wl];
      rows.push([wl, fmt(WORKLOADS[wl].messages), fmt(w.injectMps, 1), fmt(w.ms), `${w.ok}/${w.runs}`]);
    }
    console.log('\nDeep queue, Postfix (the lab instance holding them; postqueue -p to its last line):');
    printTable(rows);
  }
}
