/**
 * The envelope of a message: everything SMTP (or the pickup folder) said about it that is not in
 * the message itself. The spool stores it as JSON in front of the message (see
 * spool/entry-format.ts and docs/spool.md); delivery, the reports (ndr/) and the tools read it.
 */
export interface EnvelopeRecipient {
  /** The address as the client gave it in RCPT TO. */
  address: string;
  /** DSN NOTIFY values (RFC 3461), upper case; absent when the client gave none. */
  notify?: ('NEVER' | 'SUCCESS' | 'FAILURE' | 'DELAY')[];
  /** DSN ORCPT, as `addr-type;address` (xtext decoded). */
  orcpt?: string;
}

export interface Envelope {
  /** Format version of the envelope record. */
  version: 1;
  queueId: string;
  /** ISO 8601 time the message was accepted. */
  arrivedAt: string;
  /** Reverse path; the empty string for the null sender `<>`. */
  sender: string;
  recipients: EnvelopeRecipient[];
  /** DSN parameters of MAIL FROM (RFC 3461). */
  dsn: { ret?: 'FULL' | 'HDRS'; envid?: string };
  /** BODY= of MAIL FROM. */
  bodyType: '7bit' | '8bitmime';
  smtpUtf8: boolean;
  /** How the message arrived. */
  source: 'smtp' | 'pickup' | 'report';
  /** The SMTP client, for mail that came over SMTP. */
  client?: { address: string; port: number; helo: string; hostname?: string };
}
