/**
 * Parses a duration as operators write it: `500ms`, `90s`, `5m`, `67m`, `2h`, `5d`, `1.5h`.
 * Returns milliseconds, or undefined for anything else. The unit is required: a bare number
 * (`5`, or the number 5 in a config file) is refused, because `--retry-initial 5` read as 5 ms
 * made a message retry 280 times in two seconds; see `isBareNumber` for the message to give.
 */
const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Whether a duration was given without a unit (`5`, `5.5`, or a number from a config file). */
export function isBareNumber(input: string | number): boolean {
  return typeof input === 'number' || /^\s*\d+(?:\.\d+)?\s*$/.test(input);
}

export function parseDuration(input: string | number): number | undefined {
  if (typeof input === 'number') return undefined;
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/i.exec(input);
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
