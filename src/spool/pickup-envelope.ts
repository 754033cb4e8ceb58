import type { Envelope } from '../message/envelope.js';

/** The envelope of a message from the pickup folder: its X-Sender and X-Receiver lines. */
export function pickupEnvelope(
  queueId: string,
  arrivedAt: string,
  sender: string,
  recipients: string[],
): Envelope {
  return {
    version: 1,
    queueId,
    arrivedAt,
    sender,
    recipients: recipients.map((address) => ({ address })),
    dsn: {},
    bodyType: '8bitmime',
    smtpUtf8: false,
    source: 'pickup',
  };
}
