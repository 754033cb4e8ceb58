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
  for (const outcome of outcomes) {
    const notify: readonly Notify[] = recipientOf(envelope, outcome).notify ?? ['FAILURE'];
    if (notify.includes('NEVER')) continue;
    switch (outcome.action) {
      case 'failed':
        if (notify.includes('FAILURE')) result.failures.push(outcome);
        break;
      case 'delivered':
      case 'relayed':
        if (notify.includes('SUCCESS')) result.successes.push(outcome);
        break;
      case 'delayed':
        if (notify.includes('DELAY')) result.delays.push(outcome);
        break;
    }
  }
  return result;
}
