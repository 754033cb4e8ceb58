// The project's targets for the bench figures (bench/README.md, "Targets"). A goal compares either
// ims-relay's median with another server's (vs: ratio = ims / other; time ratios want <=,
// throughput ratios want >=) or ims-relay's own median figure (vs: null) with a limit. They are
// figures, not assertions: PASS or MISS is printed, the exit code does not depend on them.
export const GOALS = [
  {
    id: 'W1-postfix',
    wl: 'W1',
    metric: 'ms',
    vs: 'postfix',
    op: '<=',
    limit: 0.25,
    text: 'W1 time <= 0.25 x Postfix',
  },
  {
    id: 'W1-floor',
    wl: 'W1',
    metric: 'ms',
    vs: 'floor',
    op: '<=',
    limit: 1.3,
    text: 'W1 time <= 1.3 x smtp-server floor',
  },
  {
    id: 'W1-peak',
    wl: 'W1',
    metric: 'peakMB',
    vs: null,
    op: '<=',
    limit: 150,
    text: 'W1 peak RSS <= 150 MB',
  },
  {
    id: 'W2-postfix',
    wl: 'W2',
    metric: 'mps',
    vs: 'postfix',
    op: '>=',
    limit: 1.2,
    text: 'W2 msgs/s >= 1.2 x Postfix',
  },
  {
    id: 'W2c-postfix',
    wl: 'W2c',
    metric: 'mps',
    vs: 'postfix',
    op: '>=',
    limit: 0.8,
    text: 'W2c msgs/s >= 0.8 x Postfix',
  },
  {
    id: 'W3-postfix',
    wl: 'W3',
    metric: 'mps',
    vs: 'postfix',
    op: '>=',
    limit: 3,
    text: 'W3 msgs/s >= 3 x Postfix',
  },
  {
    id: 'E3-postfix',
    wl: 'E3',
    metric: 'mps',
    vs: 'postfix',
    op: '>=',
    limit: 2,
    text: 'E3 end to end >= 2 x Postfix receive-to-discard',
  },
  {
    id: 'NDR100000-time',
    wl: 'NDR100000',
    metric: 'ms',
    vs: null,
    op: '<=',
    limit: 2000,
    unit: 'ms',
    text: 'NDR100000 failure -> NDR <= 2000 ms',
  },
  {
    id: 'NDR100000-peak',
    wl: 'NDR100000',
    metric: 'peakMB',
    vs: null,
    op: '<=',
    limit: 300,
    text: 'NDR100000 peak RSS <= 300 MB',
  },
  {
    id: 'DEEP100k-list',
    wl: 'DEEP100k',
    metric: 'listMs',
    vs: null,
    op: '<=',
    limit: 2000,
    unit: 'ms',
    text: 'DEEP100k queue list to its last line <= 2000 ms',
  },
  {
    id: 'DEEP100k-count',
    wl: 'DEEP100k',
    metric: 'countMs',
    vs: null,
    op: '<=',
    limit: 200,
    unit: 'ms',
    text: 'DEEP100k queue list --count <= 200 ms',
  },
  {
    id: 'DEEP100k-api',
    wl: 'DEEP100k',
    metric: 'apiFirstPageMs',
    vs: null,
    op: '<=',
    limit: 200,
    unit: 'ms',
    text: 'DEEP100k first API page <= 200 ms',
  },
  {
    id: 'DEEP100k-start-hold',
    wl: 'DEEP100k',
    metric: 'startHoldMs',
    vs: null,
    op: '<=',
    limit: 5000,
    unit: 'ms',
    text: 'DEEP100k startup to SMTP, hold <= 5000 ms',
  },
  {
    id: 'DEEP100k-start-relay',
    wl: 'DEEP100k',
    metric: 'startRelayMs',
    vs: null,
    op: '<=',
    limit: 5000,
    unit: 'ms',
    text: 'DEEP100k startup to SMTP, relay <= 5000 ms',
  },
  {
    id: 'DEEP100k-start-capture',
    wl: 'DEEP100k',
    metric: 'startCaptureMs',
    vs: null,
    op: '<=',
    limit: 5000,
    unit: 'ms',
    text: 'DEEP100k startup to SMTP, capture <= 5000 ms',
  },
  {
    id: 'DEEP100k-rss',
    wl: 'DEEP100k',
    metric: 'listRssGrowthMB',
    vs: null,
    op: '<=',
    limit: 5,
    unit: 'MB',
    text: 'DEEP100k RSS growth listing via the API <= 5 MB',
  },
  {
    id: 'idle',
    wl: null,
    metric: 'idleMB',
    vs: null,
    op: '<=',
    limit: 80,
    text: 'idle RSS after start <= 80 MB',
  },
];

/** The goals of the selected workloads with the measured value and PASS, MISS or n/a. */
export function evaluateGoals(workloads, summary, metric, ratio) {
  return GOALS.filter((g) => g.wl === null || workloads.includes(g.wl)).map((g) => {
    let value = null;
    if (g.metric === 'idleMB') value = summary.ims ? summary.ims.idleMB : null;
    else if (!g.vs)
      value = metric('ims', g.wl, g.metric); // an absolute figure (peakMB, ms)
    else value = ratio(metric('ims', g.wl, g.metric), metric(g.vs, g.wl, g.metric));
    const status =
      value == null ? 'n/a' : (g.op === '<=' ? value <= g.limit : value >= g.limit) ? 'PASS' : 'MISS';
    return { id: g.id, target: g.text, value, unit: g.unit || (g.vs ? 'x' : 'MB'), status };
  });
}
