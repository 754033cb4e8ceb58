/**
 * The body of the message/delivery-status part (RFC 3464 §2.2, §2.3): the per-message fields,
 * then one blank-line-separated group of per-recipient fields per listed recipient. 7-bit text,
 * CRLF line ends, built as one array join (it can hold tens of thousands of recipients).
 */
import type { Envelope } from '../message/envelope.js';
import { fieldText, foldedField, recipientFieldValue } from './dsn-field-text.js';
import type { RecipientOutcome } from './recipient-outcome.js';
import { recipientOf } from './report-policy.js';
import { formatRfc5322Date } from './rfc5322-date.js';

/** The per-message field naming the queue ID of the message a report is about. */
export const ORIGINAL_QUEUE_ID_FIELD = 'X-Ims-Relay-Queue-ID';

const STATUS = /^[245]\.\d{1,3}\.\d{1,3}$/;
/**
 * A `Diagnostic-Code: smtp;` holds an SMTP reply (RFC 3464 §2.3.6). A local delivery into a
 * Maildir has none ("delivered to Maildir …"), so its success report leaves the field out.
 */
const SMTP_REPLY = /^[2-5]\d\d(?:[ -]|$)/;
const FALLBACK_STATUS: Record<RecipientOutcome['action'], string> = {
  failed: '5.0.0',
  delayed: '4.0.0',
  delivered: '2.0.0',
  relayed: '2.0.0',
};

/** An RFC 3463 status for the outcome: its own when well formed, else the generic one for its action. */
export function statusOf(outcome: RecipientOutcome): string {
  const status = outcome.status.trim();
  return STATUS.test(status) ? status : FALLBACK_STATUS[outcome.action];
}

/** `Original-Recipient:` value: the ORCPT as given (`addr-type;address`), made 7-bit. */
function originalRecipientValue(orcpt: string): string {
  const semicolon = orcpt.indexOf(';');
  if (semicolon > 0 && !/^[\x20-\x7e]*$/.test(orcpt)) {
    // a non-ASCII ORCPT can only be written as RFC 6533's utf-8 address type
    return recipientFieldValue(orcpt.slice(semicolon + 1).trim());
  }
  return fieldText(orcpt);
}

function validDate(date: Date | undefined): date is Date {
  return date instanceof Date && !Number.isNaN(date.getTime());
}

/** formatRfc5322Date, remembering the last result: most outcomes of a report share their dates. */
function dateFormatter(): (date: Date) => string {
  let lastTime = NaN;
  let lastText = '';
  return (date) => {
    const time = date.getTime();
    if (time !== lastTime) {
      lastText = formatRfc5322Date(date);
      lastTime = time;
    }
    return lastText;
  };
}

export function deliveryStatusText(
  envelope: Envelope,
  outcomes: readonly RecipientOutcome[],
  reportingMta: string,
): string {
  const formatDate = dateFormatter();
  const lines: string[] = [`Reporting-MTA: dns; ${fieldText(reportingMta)}`];
  if (envelope.dsn.envid) lines.push(foldedField('Original-Envelope-Id', fieldText(envelope.dsn.envid)));
  const arrived = new Date(envelope.arrivedAt);
  if (validDate(arrived)) lines.push(`Arrival-Date: ${formatRfc5322Date(arrived)}`);
  // an extension field (RFC 3464 §2.2 "extension-field", X- for a private one, as Postfix writes
  // X-Postfix-Queue-ID): the queue ID of the message reported on, so a report links to it
  if (envelope.queueId) lines.push(foldedField(ORIGINAL_QUEUE_ID_FIELD, fieldText(envelope.queueId)));
  for (const outcome of outcomes) {
    const recipient = recipientOf(envelope, outcome);
    lines.push('');
    if (recipient.orcpt)
      lines.push(foldedField('Original-Recipient', originalRecipientValue(recipient.orcpt)));
    lines.push(foldedField('Final-Recipient', recipientFieldValue(recipient.address)));
    lines.push(`Action: ${outcome.action}`);
    lines.push(`Status: ${statusOf(outcome)}`);
    if (outcome.remoteMta) lines.push(foldedField('Remote-MTA', `dns; ${fieldText(outcome.remoteMta)}`));
    if (outcome.diagnostic && (outcome.action !== 'delivered' || SMTP_REPLY.test(outcome.diagnostic)))
      lines.push(foldedField('Diagnostic-Code', `smtp; ${fieldText(outcome.diagnostic)}`));
    if (validDate(outcome.lastAttemptAt))
      lines.push(`Last-Attempt-Date: ${formatDate(outcome.lastAttemptAt)}`);
    if (outcome.action === 'delayed' && validDate(outcome.willRetryUntil)) {
      lines.push(`Will-Retry-Until: ${formatDate(outcome.willRetryUntil)}`);
    }
  }
  lines.push('');
  return lines.join('\r\n');
}
