import { describe, expect, it } from 'vitest';
import { idleCoresSince, sampleCpuTimes } from './idle-cores.js';

describe('idle cores', () => {
  it('reads the kernel counters and tells idle CPUs from busy ones over a stretch of time', () => {
    const now = sampleCpuTimes();
    expect(now).toBeDefined(); // the tests run on Linux
    const { cpus, idle, total } = now!;
    expect(cpus).toBeGreaterThan(0);
    expect(total).toBeGreaterThan(idle);
    // a second ago (100 ticks a CPU), every CPU idle since then / every CPU busy since then
    const allIdle = idleCoresSince({ cpus, idle: idle - 100 * cpus, total: total - 100 * cpus });
    expect(allIdle).toBeGreaterThan(cpus * 0.8);
    expect(allIdle).toBeLessThanOrEqual(cpus);
    const allBusy = idleCoresSince({ cpus, idle, total: total - 100 * cpus });
    expect(allBusy).toBeGreaterThanOrEqual(0);
    expect(allBusy).toBeLessThan(cpus * 0.2);
    // nothing to tell without a first sample
    expect(idleCoresSince(undefined)).toBeUndefined();
  });
});
