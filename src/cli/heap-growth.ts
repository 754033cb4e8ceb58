/**
 * How far V8 lets the old generation grow past what the last full collection kept, for a serving
 * relay. V8 picks a factor of up to 4 when collecting is cheap, and a relay's full collections
 * are (about 10 ms for the ~26 MB that 200 messages to 1,000 recipients each keep live in capture
 * mode): so in that run the heap filled with promoted garbage up to 112 MB before each one, and
 * the process peaked at 211-228 MiB against 75 MiB idle (docs/performance.md, "The message store
 * (issue 15)"). At 1.5 the same run peaks at 150-156 MiB for the same CPU time within the noise.
 * A `--heap-growing-percent` given to node wins.
 */
import v8 from 'node:v8';

export const HEAP_GROWING_PERCENT = 50;

/** Sets V8's heap growing factor for this process unless node was started with one. */
export function limitHeapGrowth(execArgv: readonly string[] = process.execArgv): boolean {
  if (execArgv.some((arg) => /^--heap[-_]growing[-_]percent\b/.test(arg))) return false;
  v8.setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  return true;
}
