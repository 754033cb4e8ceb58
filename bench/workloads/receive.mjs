// The receive-path workloads (W1, W2, W2c, W3 and W1x100k/W1x300k): one client against a server in
// hold mode (ims-relay) — the lab's smtpload.mjs ('big': time of one transaction; 'load':
// msgs/s), or Postfix's smtp-source ('source': msgs/s over the wall time) — and the checks that
// make a run count.
import { SMTPLOAD } from '../lib/paths.mjs';
import { runCmd, withPin } from '../lib/processes.mjs';
import { settings } from '../lib/settings.mjs';

/** smtpload's result line: `RESULT {json}`. */
export function parseResult(stdout) {
  const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
  try {
    return line ? JSON.parse(line.slice(7)) : null;
  } catch {
    return null;
  }
}

/** smtpload with the workload's arguments against 127.0.0.1:port, bounded by --timeout-ms. */
export function smtpload(
  W,
  port,
  label,
  { args = W.args, pre = [], timeoutMs = settings.opt?.timeoutMs ?? 300000 } = {},
) {
  const t = timeoutMs;
  const [cmd, argv] = withPin(settings.clientPin, process.execPath, [
    ...pre,
    SMTPLOAD,
    ...args,
    '--port',
    String(port),
    '--host',
    '127.0.0.1',
    '--timeout-ms',
    String(t),
    '--label',
    label,
  ]);
  return runCmd(cmd, argv, { timeoutMs: t + 15000 });
}

export async function runReceive(W, port, label) {
  const t = settings.opt.timeoutMs;
  if (W.kind === 'source') {
    if (!settings.smtpSource) return { ok: false, error: 'smtp-source not found (postfix package)' };
    const [cmd, args] = withPin(settings.clientPin, settings.smtpSource, [...W.args, `127.0.0.1:${port}`]);
    const r = await runCmd(cmd, args, { timeoutMs: t });
    const counts = r.stdout
      .split(/[\r\n]+/)
      .filter((x) => /^\d+$/.test(x.trim()))
      .map(Number);
    const last = counts.length ? counts[counts.length - 1] : null;
    const errLines = r.stderr.split('\n').filter((l) => l.trim());
    const ok =
      r.code === 0 && !r.timedOut && last === W.messages && !errLines.some((l) => /fatal|error/i.test(l));
    return {
      ok,
      ms: +r.ms.toFixed(1),
      mps: ok ? +((W.messages * 1000) / r.ms).toFixed(1) : null,
      sent: last,
      ...(ok
        ? {}
        : {
            error: r.timedOut
              ? `timed out after ${t} ms`
              : `exit ${r.code}: ${errLines.slice(0, 5).join(' | ')}`,
          }),
    };
  }
  const r = await smtpload(W, port, label);
  const res = parseResult(r.stdout);
  if (!res)
    return {
      ok: false,
      error: `no RESULT (exit ${r.code}${r.timedOut ? ', killed' : ''}): ${(r.stderr || r.stdout).trim().slice(-400)}`,
    };
  if (W.kind === 'big') {
    const ok =
      r.code === 0 &&
      !res.error &&
      res.rcpt250 === 32766 &&
      res.rcpt452 === (W.rcpts ?? 32800) - 32766 &&
      /^250/.test(res.finalReply || '');
    return {
      ok,
      ms: res.elapsedMs,
      mps: null,
      rcpt250: res.rcpt250,
      rcpt452: res.rcpt452,
      rcptOther: res.rcptOther,
      first452: res.first452,
      shown: res.shown,
      finalReply: res.finalReply,
      ...(ok
        ? {}
        : {
            error:
              res.error ||
              `unexpected replies: 250=${res.rcpt250} 452=${res.rcpt452} other=${res.rcptOther} final=${res.finalReply}`,
          }),
    };
  }
  const ok = r.code === 0 && !res.error && res.accepted === res.messages && !(res.errors || []).length;
  return {
    ok,
    ms: res.elapsedMs,
    mps: res.msgsPerSec,
    accepted: res.accepted,
    rejected: res.rejected,
    latencyMs: res.latencyMs,
    ...(ok
      ? {}
      : { error: res.error || res.firstFailure || (res.errors || []).join(' | ') || `exit ${r.code}` }),
  };
}
