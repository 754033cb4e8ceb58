// NDR32766, NDR100000: a pickup file from NDR_SENDER to N recipients that all fail at delivery
// (--fail NDR_FAIL_RULE), so the relay owes one non-delivery report. The figure is event 1110's
// time (the entry is queued, delivery starts) to the arrivedAt of the report entry (its queue ID
// from event 4117's data.reports); also drop -> the NDR captured for the sender in the store.
import fs from 'node:fs';
import path from 'node:path';
import { sleep } from '../lib/processes.mjs';
import { settings, state } from '../lib/settings.mjs';
import { findEnvelope, readEvents, storeQuery } from '../measure/relay-files.mjs';
import { POLL_MS } from './end-to-end.mjs';

export const NDR_FAIL_RULE = '*@fail.test=550 5.1.1 User unknown';
export const NDR_SENDER = 'bench@example.test';

export async function runNdr(W, server) {
  const spool = server.spool;
  const n = W.rcpts;
  const name = `ndr-${n}`;
  const lines = [`X-Sender: <${NDR_SENDER}>`];
  for (let i = 1; i <= n; i++) lines.push(`X-Receiver: <user${i}@fail.test>`);
  lines.push(
    `From: <${NDR_SENDER}>`,
    'To: undisclosed-recipients:;',
    `Subject: bench NDR for ${n} recipients`,
    `Date: ${new Date().toUTCString().replace('GMT', '+0000')}`,
    `Message-ID: <bench.ndr.${n}.${process.pid}@example.test>`,
    '',
    'This message goes to recipients that all fail.',
    '',
  );
  const pickup = path.join(spool, 'pickup');
  fs.mkdirSync(pickup, { recursive: true });
  fs.writeFileSync(path.join(pickup, `${name}.eml.part`), lines.join('\r\n'));
  const tDrop = Date.now();
  fs.renameSync(path.join(pickup, `${name}.eml.part`), path.join(pickup, `${name}.eml`));
  const deadline = tDrop + settings.opt.timeoutMs;
  const sql = `SELECT m.id AS id FROM messages m JOIN recipients r ON r.seq = m.seq WHERE r.address = '${NDR_SENDER}'`;
  const eventsFile = path.join(spool, 'log', 'events.jsonl');
  let seen = null;
  let tSeen = null;
  while (!state.interrupted && Date.now() < deadline) {
    const files = storeQuery(spool, sql, []).map((r) => r.id);
    if (files.length) {
      tSeen = Date.now();
      seen = files;
      break;
    }
    // a pickup file the relay refused (event 4116) will never give an NDR
    if (fs.existsSync(path.join(spool, 'bad')) && fs.readdirSync(path.join(spool, 'bad')).length) break;
    await sleep(POLL_MS);
  }
  // the report's own 1101 (delivered) is logged right after its Maildir link: give it a moment
  let events = readEvents(eventsFile);
  for (
    let i = 0;
    seen && i < 50 && !events.some((e) => e.id === 1101 && e.data && e.data.delivered === 1);
    i++
  ) {
    await sleep(POLL_MS);
    events = readEvents(eventsFile);
  }
  const ev1110 = events.find((e) => e.id === 1110 && e.data && e.data.file === `${name}.eml`);
  const ev4117 = ev1110 && events.find((e) => e.id === 4117 && e.queueId === ev1110.queueId);
  const ev3041 = ev1110 && events.find((e) => e.id === 3041 && e.queueId === ev1110.queueId);
  const reportId = ev4117 && ev4117.data && ev4117.data.reports ? ev4117.data.reports[0] : null;
  const ev1101 = reportId && events.find((e) => e.id === 1101 && e.queueId === reportId);
  const out = {
    pickupId: ev1110 ? ev1110.queueId : null,
    reportId,
    failed: ev4117 ? ev4117.data.failed : null,
    delivered: ev4117 ? ev4117.data.delivered : null,
    reports: ev4117 ? ev4117.data.reports.length : null,
    listed: ev3041 ? ev3041.data.listed : ev4117 ? ev4117.data.failed : null,
    omitted: ev3041 ? ev3041.data.omitted : 0,
    pickupMs: ev1110 ? Date.parse(ev1110.time) - tDrop : null,
  };
  const bad = events.filter((e) => e.id === 4116 || e.id === 4120 || e.id === 4131).map((e) => e.message);
  if (!seen)
    return {
      ok: false,
      ...out,
      error: state.interrupted
        ? 'interrupted'
        : `no NDR in ${NDR_SENDER}'s Maildir within ${settings.opt.timeoutMs} ms${bad.length ? `: ${bad[0]}` : ''}`,
    };
  if (!ev1110 || !ev4117 || !reportId)
    return {
      ok: false,
      ...out,
      error: `events missing (1110 ${!!ev1110}, 4117 ${!!ev4117}, report ${reportId})`,
    };
  const env = findEnvelope(spool, reportId);
  if (!env) return { ok: false, ...out, error: `report ${reportId} not found in archive/ or out/` };
  const ndrFile = seen.find((f) => f.includes(reportId));
  const ok = !!ndrFile && out.failed === n && out.delivered === 0 && seen.length === 1;
  const ms = Date.parse(env.arrivedAt) - Date.parse(ev1110.time);
  return {
    ok,
    ...out,
    ms,
    mps: null,
    totalMs: tSeen - tDrop,
    deliveredEventMs: ev1101 ? Date.parse(ev1101.time) - tDrop : null,
    ndrBytes: ndrFile ? fs.statSync(path.join(spool, 'store', 'messages', `${ndrFile}.eml`)).size : null,
    ...(ok
      ? {}
      : {
          error: `unexpected outcome: failed ${out.failed}, delivered ${out.delivered}, Maildir ${seen.join(' ')}`,
        }),
  };
}
