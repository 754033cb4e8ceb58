/**
 * The `Received:` trace header (RFC 5321 §4.4) the relay puts on top of each message it accepts.
 * Values from the client (HELO name, reverse DNS name) are reduced to printable ASCII without
 * parentheses, so they can neither break the header nor forge a comment.
 */
export interface ReceivedInfo {
  helo: string;
  clientAddress: string;
  clientHostname?: string;
  hostname: string;
  protocol: 'SMTP' | 'ESMTP' | 'ESMTPS' | 'ESMTPA' | 'ESMTPSA';
  queueId: string;
  /** Shown as `for <address>` only when the message has exactly one recipient. */
  recipients: readonly string[];
  date: Date;
}

const clean = (value: string) => value.replace(/[^\x21-\x7e]|[()]/g, '').slice(0, 255) || 'unknown';

/** RFC 5322 date-time, e.g. `Sat, 21 Nov 2026 12:00:00 +0000`. */
export function rfc5322Date(date: Date): string {
  return date.toUTCString().replace(/GMT$/, '+0000');
}

export function receivedHeader(info: ReceivedInfo): string {
  const from = `from ${clean(info.helo)} (${info.clientHostname ? clean(info.clientHostname) + ' ' : ''}[${clean(info.clientAddress)}])`;
  const forClause = info.recipients.length === 1 ? `\r\n\tfor <${clean(info.recipients[0]!)}>` : '';
  return (
    `Received: ${from}\r\n\tby ${info.hostname} (ims-relay) with ${info.protocol} id ${info.queueId}` +
    `${forClause};\r\n\t${rfc5322Date(info.date)}\r\n`
  );
}
