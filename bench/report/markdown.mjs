// The Markdown table for docs/performance.md: one section per kind of workload run, each figure
// beside the target it is held to.
import { TARGET_NAMES } from '../targets/index.mjs';
import { RECEIVE_KINDS, RELAY_ARGS, WORKLOADS } from '../workloads/index.mjs';
import { GOALS } from './goals.mjs';

export function markdown(meta, summary, ratios, goals, names, skipped, fmt) {
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
  const scale = selected('scale').filter(() => has('ims'));
  if (scale.length) {
    lines.push('');
    lines.push(
      'Scale-out (the W2 shape through HAProxy, `send-proxy` and `check-send-proxy`, to two ims-relays in hold mode with ' +
        '`--proxy-protocol-from 127.0.0.1`, against one relay directly, in the same run; CPU = user + system time of the ' +
        'server processes during the load):',
    );
    lines.push('');
    lines.push(
      '| workload | via HAProxy, 2 relays (msgs/s) | 1 relay directly (msgs/s) | gain | CPU, 1 relay (ms) | CPU, 2 relays (ms) | CPU, HAProxy (ms) |',
    );
    lines.push('|---|---:|---:|---:|---:|---:|---:|');
    for (const wl of scale) {
      const w = summary.ims.workloads[wl];
      lines.push(
        `| ${wl}: ${WORKLOADS[wl].desc} | ${fmt(w.mps, 1)} | ${fmt(w.directMps, 1)} | ${fmt(w.gain, 2)} | ` +
          `${fmt(w.directCpuMs)} | ${fmt(w.relaysCpuMs)} | ${fmt(w.haproxyCpuMs)} |`,
      );
    }
  }
  const deep = selected('deep');
  if (deep.length) {
    lines.push('');
    lines.push(
      'Deep queue (ims-relay: N entries in its spool, hold mode; `queue list` and `--count` with the relay stopped, ' +
        'timed to the last line; the API page is `GET /api/v1/messages?limit=50`, the second request; startup is the ' +
        'start to the first SMTP greeting; RSS before and after `queue list` through the running relay. ' +
        'Postfix: the lab instance holding N messages, `postqueue -p` to its last line):',
    );
    lines.push('');
    lines.push('| figure | ims-relay | Postfix | target | result |');
    lines.push('|---|---:|---:|---|---|');
    for (const wl of deep) {
      const ims = (k, d) => cell('ims', wl, k, d);
      const goal = (id) => goalFor(`${wl}-${id}`);
      const row = (text, value, postfix, id) => {
        const g = id ? goal(id) : null;
        lines.push(
          `| ${text} | ${value} | ${postfix} | ${g ? g.target.replace(/^\S+ /, '') : '-'} | ${g ? g.status : '-'} |`,
        );
      };
      lines.push(`| **${wl}: ${WORKLOADS[wl].desc}** | | | | |`);
      row('list to the last line (ms)', ims('listMs'), cell('postfix', wl, 'ms'), 'list');
      row('count (ms)', ims('countMs'), '', 'count');
      row('first API page (ms)', ims('apiFirstPageMs', 1), '', 'api');
      row('startup to SMTP, hold (ms)', ims('startHoldMs'), '', 'start-hold');
      row('startup to SMTP, relay (ms)', ims('startRelayMs'), '', 'start-relay');
      row('startup to SMTP, capture (ms)', ims('startCaptureMs'), '', 'start-capture');
      row('`queue list` through the running relay (ms)', ims('apiListMs'), '', null);
      row(
        'relay RSS before / after that listing (MB)',
        `${ims('rssBeforeMB', 1)} / ${ims('rssAfterMB', 1)}`,
        '',
        'rss',
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
