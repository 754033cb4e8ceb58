/**
 * Which recipient outcomes are owed a report to the sender (RFC 3461 §4.1, RFC 3464, RFC 5321 §6.1).
 */
import type { Envelope, EnvelopeRecipient } from '../message/envelope.js';
import type { RecipientOutcome } from './recipient-outcome.js';

export interface OutcomesToReport {
  failures: RecipientOutcome[];
  successes: RecipientOutcome[];
  delays: RecipientOutcome[];
}

type Notify = NonNullable<EnvelopeRecipient['notify']>[number];

/** The recipient an outcome refers to; a RangeError for an index outside envelope.recipients. */
export function recipientOf(envelope: Envelope, outcome: RecipientOutcome): EnvelopeRecipient {
  const recipient = Number.isInteger(outcome.index) ? envelope.recipients[outcome.index] : undefined;
  if (!recipient) {
    throw new RangeError(
      `outcome index ${outcome.index} is not a recipient of ${envelope.queueId} (${envelope.recipients.length} recipients)`,
    );
  }
  return recipient;
}

/**
 * Which outcomes need reporting to the sender. Nothing for the null sender `<>` and nothing when
 * the original message is itself a delivery report (`isReport`, see isDeliveryStatusReport).
 * Per recipient: NOTIFY=NEVER never; no NOTIFY means FAILURE only; 'failed' when NOTIFY includes
 * FAILURE, 'delivered'/'relayed' when it includes SUCCESS, 'delayed' when it includes DELAY.
 */
export function outcomesToReport(
  envelope: Envelope,
  outcomes: RecipientOutcome[],
  isReport: boolean,
): OutcomesToReport {
  const result: OutcomesToReport = { failures: [], successes: [], delays: [] };
  if (envelope.sender === '' || isReport) return result;
  const lists = {
    failed: result.failures,
    delivered: result.successes,
    relayed: result.successes,
    delayed: result.delays,
  };
  for (const outcome of outcomes)
    if (isReported(outcome.action, recipientOf(envelope, outcome))) lists[outcome.action].push(outcome);
  return result;
}

/**
 * Whether an outcome of this recipient is reported (the sender and the message allowing reports):
 * NOTIFY=NEVER never; no NOTIFY means FAILURE only; 'failed' when NOTIFY includes FAILURE,
 * 'delivered'/'relayed' when it includes SUCCESS, 'delayed' when it includes DELAY. The delivery
 * agent asks it first, so a message to 100,000 recipients all delivered builds no outcome list.
 */
export function isReported(action: RecipientOutcome['action'], recipient: EnvelopeRecipient): boolean {
  const notify: readonly Notify[] = recipient.notify ?? ['FAILURE'];
  if (notify.includes('NEVER')) return false;
  switch (action) {
    case 'failed':
      return notify.includes('FAILURE');
    case 'delivered':
    case 'relayed':
      return notify.includes('SUCCESS');
    case 'delayed':
      return notify.includes('DELAY');
  }
}
