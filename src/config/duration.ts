/**
 * Parses a duration as operators write it: `300000` (milliseconds), `90s`, `5m`, `67m`, `2h`, `5d`,
 * `1.5h`. Returns milliseconds, or undefined for anything else.
 */
const UNITS: Record<string, number> = { ms: 1, '': 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function parseDuration(input: string | number): number | undefined {
  if (typeof input === 'number') return Number.isSafeInteger(input) && input >= 0 ? input : undefined;
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|)\s*$/i.exec(input);
  if (!match) return undefined;
  const ms = Math.round(Number(match[1]) * UNITS[match[2]!.toLowerCase()]!);
  return Number.isSafeInteger(ms) ? ms : undefined;
}

/** 300000 -> `5m`, 90000 -> `90s`, 1500 -> `1500ms`: the shortest exact form. */
export function formatDuration(ms: number): string {
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
