/**
 * buildReports: the delivery status notifications (RFC 3464 inside RFC 6522) for one message and
 * one kind of outcome, capped at maxRecipients listed per report (Q272672, event 3041).
 */
import type { Envelope } from '../message/envelope.js';
import { deliveryStatusText } from './delivery-status.js';
import { humanReadableText, type ReportKind } from './human-readable.js';
import { originalSubject } from './original-headers.js';
import { sliceRecipients, type Overflow } from './recipient-cap.js';
import type { RecipientOutcome } from './recipient-outcome.js';
import { composeReportMessage, pickBoundary } from './report-message.js';
import { recipientOf } from './report-policy.js';
import { returnedContent } from './returned-content.js';

export interface ReportOptions {
  /** the relay's hostname; Reporting-MTA: dns; <host>; From: MAILER-DAEMON@<host> */
  reportingMta: string;
  /** cap on recipients listed in one report (the relay's default: 32766, the IMS/MAPI limit of Q272672) */
  maxRecipients: number;
  /** truncate: one report listing the first maxRecipients; split: as many reports as needed (RFC 5321 §4.4) */
  overflow: Overflow;
  /** the original goes in as message/rfc822 when its size <= this and RET is not HDRS; else its headers */
  maxOriginalBytes: number;
  now: Date;
  /** unique token for Message-ID and boundary (e.g. the report's queue ID) */
  idSeed: string;
}

export interface BuiltReport {
  /** envelope of the report: null sender, to the original sender */
  sender: '';
  recipient: string;
  /** the complete RFC 5322 message, CRLF line ends */
  message: Buffer;
  /** how many recipients this report lists */
  listed: number;
}

export interface ReportSet {
  reports: BuiltReport[];
  /** recipients that needed reporting but are listed in no report (truncate mode only) */
  omitted: number;
  /** true when the number of recipients to report exceeded maxRecipients (the caller then logs event 3041, in both modes) */
  capped: boolean;
}

const SUBJECT_PREFIX: Record<ReportKind, string> = {
  failure: 'Undeliverable',
  success: 'Delivered',
  delay: 'Delayed',
};

/**
 * Builds the reports of one kind ('failure' = NDR, 'success' = NOTIFY=SUCCESS report, 'delay' =
 * delay notice) for the given outcomes, which the caller has chosen with outcomesToReport.
 * Builds nothing for the null sender or an empty list. Async because MimeNode builds as a stream;
 * it does no I/O and reads no clock.
 */
export async function buildReports(
  kind: ReportKind,
  envelope: Envelope,
  original: { headers: Buffer; message?: Buffer; size: number },
  outcomes: RecipientOutcome[],
  options: ReportOptions,
): Promise<ReportSet> {
  if (Number.isNaN(options.now.getTime())) throw new RangeError('options.now is an invalid date');
  const { slices, omitted, capped } = sliceRecipients(
    outcomes.length,
    options.maxRecipients,
    options.overflow,
  );
  if (envelope.sender === '' || outcomes.length === 0) return { reports: [], omitted: 0, capped: false };
  for (const outcome of outcomes) recipientOf(envelope, outcome); // a bad index fails before any work

  const subjectText = originalSubject(original.headers);
  const subject = `${SUBJECT_PREFIX[kind]}: ${subjectText ?? '(no subject)'}`;
  const returned = returnedContent(envelope, original, options.maxOriginalBytes);
  const reports: BuiltReport[] = [];
  for (const [i, { start, end }] of slices.entries()) {
    const listed = outcomes.slice(start, end);
    const humanReadable = humanReadableText({
      kind,
      envelope,
      reportingMta: options.reportingMta,
      subject: subjectText,
      listed,
      omitted,
      maxRecipients: options.maxRecipients,
      part: i + 1,
      parts: slices.length,
    });
    const deliveryStatus = deliveryStatusText(envelope, listed, options.reportingMta);
    const message = await composeReportMessage({
      reportingMta: options.reportingMta,
      to: envelope.sender,
      subject,
      date: options.now,
      messageId: `${options.idSeed}.${i + 1}@${options.reportingMta}`,
      boundary: pickBoundary(`${options.idSeed}.${i + 1}`, [humanReadable, deliveryStatus, returned.content]),
      humanReadable,
      deliveryStatus,
      returned,
    });
    reports.push({ sender: '', recipient: envelope.sender, message, listed: listed.length });
  }
  return { reports, omitted, capped };
}
