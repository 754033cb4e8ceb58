import { describe, expect, it } from 'vitest';
import { limitHeapGrowth } from './heap-growth.js';

describe('limitHeapGrowth', () => {
  it('sets the factor unless node was started with one (either spelling)', () => {
    expect(limitHeapGrowth(['--heap-growing-percent=10'])).toBe(false);
    expect(limitHeapGrowth(['--enable-source-maps', '--heap_growing_percent=200'])).toBe(false);
    expect(limitHeapGrowth(['--enable-source-maps'])).toBe(true);
    expect(limitHeapGrowth([])).toBe(true);
  });
});
