/**
 * The cap on recipients listed in one report (Q272672: 32,766 for the IMS) and what happens to the
 * rest: 'truncate' lists the first maxRecipients in one report and omits the others, 'split' spreads
 * them over as many reports as needed (RFC 5321 §4.4 allows several).
 */
export type Overflow = 'truncate' | 'split';

export interface ReportSlices {
  /** [start, end) ranges into the outcomes to report, one per report */
  slices: Array<{ start: number; end: number }>;
  /** outcomes listed in no report */
  omitted: number;
  /** more outcomes than maxRecipients */
  capped: boolean;
}

export function sliceRecipients(total: number, maxRecipients: number, overflow: Overflow): ReportSlices {
  if (!Number.isInteger(maxRecipients) || maxRecipients < 1) {
    throw new RangeError(`maxRecipients must be a positive integer, got ${maxRecipients}`);
  }
  const capped = total > maxRecipients;
  if (total === 0) return { slices: [], omitted: 0, capped };
  if (overflow === 'truncate') {
    const end = Math.min(total, maxRecipients);
    return { slices: [{ start: 0, end }], omitted: total - end, capped };
  }
  const slices: ReportSlices['slices'] = [];
  for (let start = 0; start < total; start += maxRecipients) {
    slices.push({ start, end: Math.min(total, start + maxRecipients) });
  }
  return { slices, omitted: 0, capped };
}
