/**
 * How many CPUs were idle over a stretch of time, from the kernel's counters (Linux `/proc/stat`,
 * in ticks of 10 ms): a second thread only helps `queue list` if a core is free for it; on a
 * machine whose other cores are busy it costs CPU time and makes the listing slower.
 */
import fs from 'node:fs';

export interface CpuTimes {
  /** Ticks all CPUs spent idle (idle and iowait). */
  idle: number;
  /** Ticks of all CPUs, in every state. */
  total: number;
  cpus: number;
}

/** The counters now; undefined where there are none (not Linux). */
export function sampleCpuTimes(): CpuTimes | undefined {
  let text: string;
  try {
    text = fs.readFileSync('/proc/stat', 'latin1');
  } catch {
    return undefined;
  }
  const lines = text.split('\n');
  const fields = lines[0]!.trim().split(/\s+/);
  if (fields[0] !== 'cpu') return undefined;
  const ticks = fields.slice(1, 9).map(Number);
  if (ticks.length < 5 || ticks.some((t) => !Number.isFinite(t))) return undefined;
  return {
    idle: ticks[3]! + ticks[4]!,
    total: ticks.reduce((a, b) => a + b, 0),
    cpus: lines.filter((l) => /^cpu\d+ /.test(l)).length,
  };
}

/**
 * How many CPUs were idle on average since `before` (e.g. 0.9 on two CPUs: this thread kept one
 * busy, the other was mostly free); undefined if that cannot be told (no counters, or too little
 * time has passed for them to move: a tick is 10 ms).
 */
export function idleCoresSince(before: CpuTimes | undefined): number | undefined {
  const after = sampleCpuTimes();
  if (!before || !after || after.cpus === 0) return undefined;
  const elapsedPerCpu = (after.total - before.total) / after.cpus;
  if (elapsedPerCpu < 5) return undefined;
  return (after.idle - before.idle) / elapsedPerCpu;
}
