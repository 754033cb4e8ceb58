import { describe, expect, it } from 'vitest';
import { parseByteSize } from './byte-size.js';

describe('parseByteSize', () => {
  it.each([
    ['26214400', 26214400],
    ['25MB', 25 * 1024 * 1024],
    ['25m', 25 * 1024 * 1024],
    ['512k', 512 * 1024],
    ['1.5GiB', 1.5 * 1024 ** 3],
    [' 32768 ', 32768],
    [0, 0],
  ])('%s -> %d', (input, bytes) => {
    expect(parseByteSize(input)).toBe(bytes);
  });

  it.each(['', '-1', '12 apples', 'MB', '1e3', -5, 1.5])('rejects %s', (input) => {
    expect(parseByteSize(input)).toBeUndefined();
  });
});
