/**
 * The event catalogue: every condition ims-relay reports, with an IMS-style numeric ID. IDs of the
 * Exchange 5.5 Internet Mail Service are kept where the meaning is the same (3039, 3041, 4116,
 * 4117, 4120, 4131); conditions the IMS had no event for have IDs of their own. docs/events.md
 * documents the same table; a unit test checks that the two agree.
 */
export type EventType = 'Information' | 'Warning' | 'Error';

export interface EventDefinition {
  id: number;
  type: EventType;
  category: string;
  /** A short symbolic name, used in code. */
  name: string;
  /** The description, as in the IMS event log. */
  text: string;
}

export const EVENTS = {
  serviceStarted: {
    id: 1000,
    type: 'Information',
    category: 'Service Control',
    name: 'serviceStarted',
    text: 'The relay has started and accepts mail.',
  },
  serviceStopped: {
    id: 1001,
    type: 'Information',
    category: 'Service Control',
    name: 'serviceStopped',
    text: 'The relay has stopped.',
  },
  messageQueued: {
    id: 1100,
    type: 'Information',
    category: 'Message Transfer',
    name: 'messageQueued',
    text: 'A message was accepted and made durable: committed to the spool, or in capture mode captured at once.',
  },
  messageDelivered: {
    id: 1101,
    type: 'Information',
    category: 'Message Transfer',
    name: 'messageDelivered',
    text: 'A message was delivered to all its recipients.',
  },
  pickupAccepted: {
    id: 1110,
    type: 'Information',
    category: 'Message Transfer',
    name: 'pickupAccepted',
    text: 'A file from the pickup folder was moved into the queue.',
  },
  mailCaptured: {
    id: 1130,
    type: 'Information',
    category: 'Message Store',
    name: 'mailCaptured',
    text: 'A message was captured in the message store.',
  },
  mailDeleted: {
    id: 1131,
    type: 'Information',
    category: 'Message Store',
    name: 'mailDeleted',
    text: 'Captured messages were deleted from the message store.',
  },
  mailPruned: {
    id: 1132,
    type: 'Information',
    category: 'Message Store',
    name: 'mailPruned',
    text: 'Captured messages were removed by the retention limits.',
  },
  storeRepaired: {
    id: 1133,
    type: 'Warning',
    category: 'Message Store',
    name: 'storeRepaired',
    text: 'The message store index did not match its message files and was repaired from them.',
  },
  maildirImported: {
    id: 1134,
    type: 'Information',
    category: 'Message Store',
    name: 'maildirImported',
    text: 'Maildir mailboxes of an earlier version were imported into the message store.',
  },
  nextHopReachable: {
    id: 1200,
    type: 'Information',
    category: 'Message Transfer',
    name: 'nextHopReachable',
    text: 'The next hop can be reached again; queued mail is being delivered.',
  },
  recipientCapReached: {
    id: 2100,
    type: 'Warning',
    category: 'SMTP Interface',
    name: 'recipientCapReached',
    text: 'The recipient limit of a transaction was reached; further recipients were refused with 452.',
  },
  recipientOvershootClosed: {
    id: 2101,
    type: 'Warning',
    category: 'SMTP Interface',
    name: 'recipientOvershootClosed',
    text: 'A client kept sending recipients past the limit; the connection was closed with 421.',
  },
  headerLimitRefused: {
    id: 2110,
    type: 'Warning',
    category: 'SMTP Interface',
    name: 'headerLimitRefused',
    text: 'A message was refused because its header block exceeds the limit (Q193639).',
  },
  sizeLimitRefused: {
    id: 2111,
    type: 'Warning',
    category: 'SMTP Interface',
    name: 'sizeLimitRefused',
    text: 'A message was refused because it exceeds the maximum message size.',
  },
  bareLfRefused: {
    id: 2112,
    type: 'Warning',
    category: 'SMTP Interface',
    name: 'bareLfRefused',
    text: 'A message was refused because it contains a bare LF line ending.',
  },
  largeHeaderBlock: {
    id: 2113,
    type: 'Information',
    category: 'Message Transfer',
    name: 'largeHeaderBlock',
    text: 'A header block over 32 KB was accepted; an IMS before Exchange 5.5 SP2 stopped on it (Q193639).',
  },
  authFailureLimit: {
    id: 2130,
    type: 'Warning',
    category: 'SMTP Interface',
    name: 'authFailureLimit',
    text: 'A client reached an AUTH failure limit; it was answered 421 and disconnected.',
  },
  clientLimited: {
    id: 2140,
    type: 'Warning',
    category: 'SMTP Interface',
    name: 'clientLimited',
    text: 'A client was held to a resource limit (connections per address, transaction time, recipients held).',
  },
  smtpRuleApplied: {
    id: 2150,
    type: 'Information',
    category: 'SMTP Interface',
    name: 'smtpRuleApplied',
    text: 'An SMTP-stage rule chose the reply at this moment of a session.',
  },
  freeSpaceLow: {
    id: 2200,
    type: 'Error',
    category: 'Spool',
    name: 'freeSpaceLow',
    text: 'Free space on the spool file system is below the threshold; new mail is refused with 452.',
  },
  freeSpaceRecovered: {
    id: 2201,
    type: 'Information',
    category: 'Spool',
    name: 'freeSpaceRecovered',
    text: 'Free space on the spool file system is above the threshold again; mail is accepted.',
  },
  spoolWriteFailed: {
    id: 2210,
    type: 'Error',
    category: 'Spool',
    name: 'spoolWriteFailed',
    text: 'A message could not be written to the spool; the client was answered 451 and nothing was stored.',
  },
  spoolRecovered: {
    id: 2220,
    type: 'Information',
    category: 'Spool',
    name: 'spoolRecovered',
    text: 'Startup recovery removed incomplete spool entries left by an earlier run.',
  },
  uncleanStop: {
    id: 2250,
    type: 'Warning',
    category: 'Spool',
    name: 'uncleanStop',
    text: 'The previous relay on this spool did not stop cleanly; the messages it was processing are retried one at a time.',
  },
  messageSuspected: {
    id: 2251,
    type: 'Warning',
    category: 'Internal Processing',
    name: 'messageSuspected',
    text: 'A message was being processed when the relay stopped or its processing failed; it is retried alone.',
  },
  messageIsolated: {
    id: 2252,
    type: 'Information',
    category: 'Internal Processing',
    name: 'messageIsolated',
    text: 'A suspected message is being processed alone, with no other message in progress.',
  },
  messageCleared: {
    id: 2253,
    type: 'Information',
    category: 'Internal Processing',
    name: 'messageCleared',
    text: 'A suspected message was processed alone without a crash or an error; it keeps no mark.',
  },
  entryUnreadable: {
    id: 2254,
    type: 'Warning',
    category: 'Spool',
    name: 'entryUnreadable',
    text: 'A spool entry cannot be read for now (locked or not permitted); it will be retried with back-off.',
  },
  nextHopUnreachable: {
    id: 3039,
    type: 'Warning',
    category: 'Message Transfer',
    name: 'nextHopUnreachable',
    text: 'The next hop could not be reached; delivery will be retried.',
  },
  ndrRecipientsCapped: {
    id: 3041,
    type: 'Warning',
    category: 'Internal Processing',
    name: 'ndrRecipientsCapped',
    // {limit} is --ndr-max-recipients: with the default, the IMS's own text (Q272672)
    text: 'Unable to deliver mail to all recipients. The total number of recipients exceeds {limit}.',
  },
  messageQuarantined: {
    id: 4116,
    type: 'Error',
    category: 'Internal Processing',
    name: 'messageQuarantined',
    text: 'A message could not be processed and was moved to bad/.',
  },
  messageArchived: {
    id: 4117,
    type: 'Error',
    category: 'Message Transfer',
    name: 'messageArchived',
    text: 'A message failed delivery and was moved to archive/.',
  },
  ndrFailed: {
    id: 4120,
    type: 'Error',
    category: 'Internal Processing',
    name: 'ndrFailed',
    text: 'A non-delivery report could not be created; it will be tried again.',
  },
  unexpectedError: {
    id: 4131,
    type: 'Information',
    category: 'Internal Processing',
    name: 'unexpectedError',
    text: 'An unexpected error occurred. Information about this error is stored in the data of this event.',
  },
} as const satisfies Record<string, EventDefinition>;

export type EventName = keyof typeof EVENTS;
