import { describe, expect, it } from 'vitest';
import { sliceRecipients } from './recipient-cap.js';

describe('sliceRecipients', () => {
  it('truncate: one slice of the first maxRecipients, the rest omitted', () => {
    expect(sliceRecipients(100_000, 32_766, 'truncate')).toEqual({
      slices: [{ start: 0, end: 32_766 }],
      omitted: 67_234,
      capped: true,
    });
  });

  it('split: slices of at most maxRecipients, nothing omitted', () => {
    const result = sliceRecipients(100_000, 32_766, 'split');
    expect(result.slices.map((s) => s.end - s.start)).toEqual([32_766, 32_766, 32_766, 1_702]);
    expect(result.slices[3]).toEqual({ start: 98_298, end: 100_000 });
    expect(result.omitted).toBe(0);
    expect(result.capped).toBe(true);
  });

  it('is not capped at exactly maxRecipients', () => {
    expect(sliceRecipients(32_766, 32_766, 'truncate')).toEqual({
      slices: [{ start: 0, end: 32_766 }],
      omitted: 0,
      capped: false,
    });
    expect(sliceRecipients(32_767, 32_766, 'split').slices).toHaveLength(2);
    expect(sliceRecipients(0, 5, 'split')).toEqual({ slices: [], omitted: 0, capped: false });
  });

  it('rejects a cap that is not a positive integer', () => {
    expect(() => sliceRecipients(10, 0, 'split')).toThrow(RangeError);
    expect(() => sliceRecipients(10, 1.5, 'truncate')).toThrow(RangeError);
  });
});
