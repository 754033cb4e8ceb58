import { describe, expect, it } from 'vitest';
import { formatDuration, isBareNumber, parseDuration } from './duration.js';

describe('parseDuration', () => {
  it.each([
    ['5m', 300_000],
    ['90s', 90_000],
    ['1.5h', 5_400_000],
    ['5d', 432_000_000],
    ['250ms', 250],
  ])('%s -> %d ms', (input, ms) => expect(parseDuration(input)).toBe(ms));

  it.each(['', 'soon', '5 minutes', '-1s', '1e3'])('rejects %s', (input) =>
    expect(parseDuration(input)).toBeUndefined(),
  );

  it.each(['5', '300000', ' 1.5 ', 42])('refuses the bare number %s (a unit is required)', (input) => {
    expect(parseDuration(input)).toBeUndefined();
    expect(isBareNumber(input)).toBe(true);
  });

  it('formats back to the shortest exact form', () => {
    expect([300_000, 90_000, 1500, 432_000_000].map(formatDuration)).toEqual(['5m', '90s', '1500ms', '5d']);
  });
});
