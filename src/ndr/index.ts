/**
 * src/ndr: delivery status notifications (RFC 3464 / RFC 6522). Pure: no file system, no network,
 * no clock (the caller passes `now`).
 */
export type { RecipientOutcome } from './recipient-outcome.js';
export { isReported, outcomesToReport, type OutcomesToReport } from './report-policy.js';
export { buildReports, type BuiltReport, type ReportOptions, type ReportSet } from './build-reports.js';
export type { ReportKind } from './human-readable.js';
export type { Overflow } from './recipient-cap.js';
export { isDeliveryStatusReport, originalSubject } from './original-headers.js';
