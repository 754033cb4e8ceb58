/**
 * The first part of a report (RFC 6522 §3): a text/plain explanation for people. Bounded in size:
 * at most MAX_LISTED addresses, then "... and N more"; the delivery-status part lists them all.
 */
import type { Envelope } from '../message/envelope.js';
import { controlsToSpace } from './control-characters.js';
import { statusOf } from './delivery-status.js';
import type { RecipientOutcome } from './recipient-outcome.js';
import { recipientOf } from './report-policy.js';
import { formatRfc5322Date } from './rfc5322-date.js';

export type ReportKind = 'failure' | 'success' | 'delay';

/** Addresses written out in the text part of one report. */
export const MAX_LISTED = 100;

export interface HumanReadableInput {
  kind: ReportKind;
  envelope: Envelope;
  reportingMta: string;
  /** raw Subject of the original, if any */
  subject: string | undefined;
  /** the outcomes this report lists */
  listed: readonly RecipientOutcome[];
  /** outcomes that needed reporting but are in no report (truncate mode) */
  omitted: number;
  maxRecipients: number;
  /** 1-based number of this report and how many there are */
  part: number;
  parts: number;
}

const INTRO: Record<ReportKind, string> = {
  failure: 'Your message did not reach some or all of the intended recipients.',
  success: 'Your message was delivered to the following recipients.',
  delay:
    'Delivery of your message to some recipients has been delayed. The mail system will keep trying; ' +
    'you will be told if it finally fails. You do not need to send the message again.',
};

const LIST_HEADING: Record<ReportKind, string> = {
  failure: 'The following recipients could not be reached:',
  success: 'Delivered to:',
  delay: 'Not yet delivered to:',
};

const OMITTED_VERB: Record<ReportKind, string> = {
  failure: 'could not be delivered',
  success: 'were delivered',
  delay: 'are delayed',
};

/** One line of free text: no line breaks or other control characters. */
function oneLine(text: string): string {
  return controlsToSpace(text).trim();
}

export function humanReadableText(input: HumanReadableInput): string {
  const { kind, envelope, listed } = input;
  const lines: string[] = [`This is the mail system at ${oneLine(input.reportingMta)}.`, '', INTRO[kind], ''];
  lines.push(`      Subject: ${input.subject === undefined ? '(no subject)' : oneLine(input.subject)}`);
  const arrived = new Date(envelope.arrivedAt);
  if (!Number.isNaN(arrived.getTime())) lines.push(`      Sent:    ${formatRfc5322Date(arrived)}`);
  lines.push('', LIST_HEADING[kind], '');
  const shown = Math.min(listed.length, MAX_LISTED);
  for (let i = 0; i < shown; i++) {
    const outcome = listed[i]!;
    lines.push(`      ${oneLine(recipientOf(envelope, outcome).address)}`);
    const detail = outcome.diagnostic ? oneLine(outcome.diagnostic) : `Status ${statusOf(outcome)}`;
    lines.push(`            ${outcome.remoteMta ? `${oneLine(outcome.remoteMta)}: ` : ''}${detail}`);
  }
  if (listed.length > shown) lines.push(`      ... and ${listed.length - shown} more`);
  if (input.omitted > 0) {
    lines.push(
      '',
      `${input.omitted} further recipients ${OMITTED_VERB[kind]} and are not listed in this report: ` +
        `the total number of recipients exceeds ${input.maxRecipients}.`,
    );
  }
  if (input.parts > 1) lines.push('', `This is report ${input.part} of ${input.parts}.`);
  lines.push(
    '',
    'The attached delivery status report (message/delivery-status) lists every recipient of this report.',
    '',
  );
  return lines.join('\r\n');
}
