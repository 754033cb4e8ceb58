/**
 * The per-recipient fields of a delivery report (RFC 3464 message/delivery-status): which
 * recipient, the Action (failed, delayed, delivered, relayed, expanded) and the Status, for the
 * index and the API. Pure; a malformed part gives the groups it can read.
 */
export interface ReportStatus {
  recipient: string;
  action: string;
  status: string;
  diagnostic: string | undefined;
}

/** Unfolds the field lines of one group into name → value (lower-case names). */
function fields(group: string): Map<string, string> {
  const out = new Map<string, string>();
  let last: string | undefined;
  for (const line of group.split(/\r?\n/)) {
    if (/^[ \t]/.test(line) && last) {
      out.set(last, out.get(last)! + ' ' + line.trim());
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    last = line.slice(0, colon).trim().toLowerCase();
    out.set(last, line.slice(colon + 1).trim());
  }
  return out;
}

/**
 * The per-message field in which ims-relay's reports name the queue ID of the message they report
 * on (an RFC 3464 extension field, as Postfix writes X-Postfix-Queue-ID).
 */
const REPORTED_QUEUE_ID = 'x-ims-relay-queue-id';

/** The queue ID of the message a report is about, from its per-message fields (ims-relay's reports). */
export function parseReportedQueueId(body: string): string | undefined {
  const first = body.split(/\r?\n[ \t]*\r?\n/).find((g) => g.trim() !== '');
  const value = first === undefined ? undefined : fields(first).get(REPORTED_QUEUE_ID);
  return value && /^[\x21-\x7e]{1,200}$/.test(value) ? value : undefined;
}

/** `rfc822; a@b` → `a@b` */
const addressOf = (value: string) => value.replace(/^[^;]*;\s*/, '').trim();

export function parseReportStatuses(body: string): ReportStatus[] {
  const groups = body.split(/\r?\n[ \t]*\r?\n/).filter((g) => g.trim() !== '');
  const statuses: ReportStatus[] = [];
  // the first group holds the per-message fields (Reporting-MTA …); recipient groups follow
  for (const group of groups) {
    const f = fields(group);
    const recipient = f.get('final-recipient') ?? f.get('original-recipient');
    if (recipient === undefined) continue;
    statuses.push({
      recipient: addressOf(recipient),
      action: (f.get('action') ?? '').toLowerCase(),
      status: f.get('status') ?? '',
      diagnostic: f.get('diagnostic-code'),
    });
  }
  return statuses;
}
