/**
 * What the index holds of one captured message, worked out from the message file alone (so that
 * `store reindex` can rebuild the index from the files): envelope from the delivery lines and the
 * envelope sidecar (see message-file.ts), subject,
 * From:, Date:, whether it is a delivery report and its per-recipient statuses, and the text the
 * full-text index covers.
 */
import { parseForIndex } from '../message/parse-mail.js';
import { readTraceHeader } from './message-file.js';
import { parseReportedQueueId, parseReportStatuses, type ReportStatus } from './report-statuses.js';

export interface CaptureRecord {
  id: string;
  queueId: string;
  sender: string;
  /** Envelope recipients as given (one index row each). */
  recipients: string[];
  capturedAt: number;
  /** Size of the message file in bytes. */
  size: number;
  from: string;
  subject: string;
  /** The message's Date: header (ISO), when it has a valid one. */
  headerDate: string | undefined;
  report: boolean;
  reportStatuses: ReportStatus[];
  /** For a report of ours: the queue ID of the message it reports on (its X-Ims-Relay-Queue-ID field). */
  reportedQueueId: string | undefined;
  attachments: number;
  tags: string[];
  /** Body text for the full-text index (cut at FULL_TEXT_LIMIT characters). */
  text: string;
}

/** How much of a body the full-text index holds. */
export const FULL_TEXT_LIMIT = 256 * 1024;

/** The message/delivery-status part of a report, found in the raw message (7-bit in practice). */
function deliveryStatusPart(message: Buffer): string | undefined {
  const text = message.toString('latin1');
  const m =
    /^content-type:[ \t]*(?:message|global)\/delivery-status\b[^\r\n]*(?:\r?\n[ \t][^\r\n]*)*\r?\n/im.exec(
      text,
    );
  if (!m) return undefined;
  // the part's own headers end at the first blank line; its body ends at the next boundary line
  const afterType = m.index + m[0].length;
  const blank = /\r?\n\r?\n|^\r?\n/m.exec(text.slice(afterType));
  const start = blank ? afterType + blank.index + blank[0].length : afterType;
  const end = text.indexOf('\n--', start);
  return text.slice(start, end < 0 ? undefined : end);
}

/** Headers left out of the parse for the index: address lists and traces can hold megabytes. */
const UNINDEXED = new Set([
  'to',
  'cc',
  'bcc',
  'received',
  'delivered-to',
  'resent-to',
  'resent-cc',
  'dkim-signature',
]);
const MAX_INDEXED_FIELD = 64 * 1024;

/**
 * The message with only the header fields the index needs: mailparser takes seconds over a header
 * block listing 32,766 addresses, and the index wants subject, From:, Date: and the MIME structure.
 */
function indexablePart(message: Buffer): Buffer {
  let end = message.indexOf('\r\n\r\n');
  let sep = 4;
  const lf = message.indexOf('\n\n');
  if (end < 0 || (lf >= 0 && lf < end)) [end, sep] = [lf, 2];
  if (end < 0) return message;
  const header = message.toString('latin1', 0, end);
  const kept: string[] = [];
  for (const field of header.split(/\r?\n(?![ \t])/)) {
    const name = field.slice(0, field.indexOf(':')).trim().toLowerCase();
    if (!UNINDEXED.has(name) && field.length <= MAX_INDEXED_FIELD) kept.push(field);
  }
  return Buffer.concat([Buffer.from(kept.join('\r\n') + '\r\n\r\n', 'latin1'), message.subarray(end + sep)]);
}

export type RecordResult = { ok: true; record: CaptureRecord } | { ok: false; reason: string };

export async function recordOf(
  id: string,
  queueId: string,
  file: Buffer,
  capturedAt: number,
  tagsOf: (headers: Map<string, unknown>, recipients: readonly string[]) => string[] = () => [],
  /** The capture's envelope sidecar, when it has one. */
  sidecar?: Buffer,
): Promise<RecordResult> {
  const trace = readTraceHeader(file, sidecar);
  if (!trace) return { ok: false, reason: 'the file does not start with a Return-Path: line' };
  if (trace.recipients.length === 0)
    return { ok: false, reason: 'neither the file nor an envelope sidecar names a recipient' };
  const message = file.subarray(trace.messageStart);
  let parsed;
  try {
    parsed = await parseForIndex(indexablePart(message));
  } catch (err) {
    return { ok: false, reason: `the message cannot be parsed: ${(err as Error).message}` };
  }
  const contentType = parsed.headers.get('content-type') as
    { value?: string; params?: Record<string, string> } | undefined;
  const report =
    contentType?.value?.toLowerCase() === 'multipart/report' &&
    (contentType.params?.['report-type'] ?? '').toLowerCase() === 'delivery-status';
  const statusPart = report ? deliveryStatusPart(message) : undefined;
  const date = parsed.date && !Number.isNaN(parsed.date.getTime()) ? parsed.date.toISOString() : undefined;
  return {
    ok: true,
    record: {
      id,
      queueId,
      sender: trace.sender,
      recipients: trace.recipients,
      capturedAt,
      size: file.length,
      from: parsed.from?.text ?? '',
      subject: parsed.subject ?? '',
      headerDate: date,
      report,
      reportStatuses: statusPart ? parseReportStatuses(statusPart) : [],
      reportedQueueId: statusPart ? parseReportedQueueId(statusPart) : undefined,
      attachments: parsed.attachments,
      tags: tagsOf(parsed.headers, trace.recipients),
      text: (parsed.text ?? '').slice(0, FULL_TEXT_LIMIT),
    },
  };
}
