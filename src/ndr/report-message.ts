/**
 * One report as an RFC 5322 message, composed with nodemailer's MimeNode:
 * multipart/report; report-type=delivery-status (RFC 6522) holding the text/plain explanation,
 * the message/delivery-status part (RFC 3464) and the returned original or its headers.
 * Deterministic: Date, Message-ID and the boundary come from the caller, nothing is random.
 */
import MimeNode from 'nodemailer/lib/mime-node';
import { controlsToSpace } from './control-characters.js';
import { MAX_LINE, type ReturnedContent } from './returned-content.js';

export interface ReportMessageParts {
  /** the relay's host name: `From: Mail Delivery System <MAILER-DAEMON@host>` */
  reportingMta: string;
  /** the original sender */
  to: string;
  subject: string;
  date: Date;
  /** without angle brackets */
  messageId: string;
  /** multipart boundary; must not occur in any part (see pickBoundary) */
  boundary: string;
  humanReadable: string;
  deliveryStatus: string;
  returned: ReturnedContent;
}

/**
 * A boundary derived from `seed` that occurs in none of `contents` (RFC 2046 §5.1.1): the seed's
 * safe characters, then `.1`, `.2`, ... until it is unique. Deterministic.
 */
export function pickBoundary(seed: string, contents: ReadonlyArray<string | Buffer>): string {
  const base = `=_ndr_${seed.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 50)}`;
  for (let n = 0; ; n++) {
    const candidate = n === 0 ? base : `${base}.${n}`;
    if (!contents.some((c) => c.includes(`--${candidate}`))) return candidate;
  }
}

/** Header values come from the envelope and the original: strip what could break a header line. */
function headerSafe(value: string): string {
  return controlsToSpace(value).trim();
}

export function composeReportMessage(parts: ReportMessageParts): Promise<Buffer> {
  const host = headerSafe(parts.reportingMta);
  // baseBoundary is given so MimeNode draws no random bytes; the boundary itself is set explicitly.
  const root = new MimeNode(`multipart/report; report-type=delivery-status; boundary="${parts.boundary}"`, {
    baseBoundary: parts.boundary,
    hostname: host,
  });
  root.setHeader('From', { name: 'Mail Delivery System', address: `MAILER-DAEMON@${host}` });
  // an address object: MimeNode formats it without re-parsing (quoting a local part if needed)
  root.setHeader('To', { address: headerSafe(parts.to) });
  root.setHeader('Subject', headerSafe(parts.subject));
  root.setHeader('Date', parts.date);
  root.setHeader('Message-ID', `<${headerSafe(parts.messageId)}>`);
  root.setHeader('Auto-Submitted', 'auto-replied');
  root.setHeader('MIME-Version', '1.0');

  root.createChild('text/plain; charset=utf-8').setContent(parts.humanReadable);
  root.createChild('message/delivery-status').setContent(parts.deliveryStatus);

  const { returned } = parts;
  const encoding = returned.eightBit ? '8bit' : '7bit';
  if (returned.contentType === 'message/rfc822') {
    root
      .createChild('message/rfc822')
      .setHeader('Content-Transfer-Encoding', encoding)
      .setContent(returned.content);
  } else if (returned.longestLine <= MAX_LINE) {
    // MimeNode would quoted-printable encode a Buffer in a text/* part; the headers go out verbatim.
    const partHeaders = `Content-Type: text/rfc822-headers\r\nContent-Transfer-Encoding: ${encoding}\r\n\r\n`;
    root
      .createChild('text/rfc822-headers')
      .setRaw(Buffer.concat([Buffer.from(partHeaders), returned.content]));
  } else {
    root.createChild('text/rfc822-headers').setContent(returned.content);
  }
  return root.build();
}
