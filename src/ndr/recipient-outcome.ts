/**
 * What happened to one recipient of a message: the input to the report policy and the report
 * builder. Delivery records one of these per recipient it is done with (or gave up on for now).
 */
export interface RecipientOutcome {
  /** index into envelope.recipients */
  index: number;
  action: 'failed' | 'delivered' | 'delayed' | 'relayed';
  /** RFC 3463 status, e.g. '5.1.1', '4.4.7', '2.0.0' */
  status: string;
  /** the reply or reason, e.g. '550 5.1.1 User unknown' (becomes `Diagnostic-Code: smtp; ...`) */
  diagnostic?: string;
  /** relay mode: the upstream host, becomes `Remote-MTA: dns; host` */
  remoteMta?: string;
  lastAttemptAt?: Date;
  /** delay notices: until when delivery will be retried, becomes `Will-Retry-Until:` (RFC 3464 §2.3.9) */
  willRetryUntil?: Date;
}
