import { describe, expect, it } from 'vitest';
import * as ndr from './index.js';

describe('src/ndr public API', () => {
  it('exports the report policy, the builder and the header helpers', () => {
    expect(Object.keys(ndr).sort()).toEqual([
      'buildReports',
      'isDeliveryStatusReport',
      'isReported',
      'originalSubject',
      'outcomesToReport',
    ]);
  });
});
