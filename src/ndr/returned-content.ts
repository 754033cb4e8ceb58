/**
 * The third part of a report (RFC 6522 §3, RFC 3461 §4.3): the whole original as message/rfc822
 * when RET allows it and it is small enough, else its header block as text/rfc822-headers.
 */
import type { Envelope } from '../message/envelope.js';

export interface ReturnedContent {
  contentType: 'message/rfc822' | 'text/rfc822-headers';
  /** the bytes, CRLF line ends */
  content: Buffer;
  /** holds bytes >= 0x80 (written with Content-Transfer-Encoding: 8bit) */
  eightBit: boolean;
  /** longest line, without its CRLF, in bytes */
  longestLine: number;
}

/** Longest line an 7bit/8bit body may have (RFC 5322 §2.1.1, RFC 2045 §2.8). */
export const MAX_LINE = 998;

/** The bytes with every bare LF and bare CR turned into CRLF; the same Buffer when there is none. */
export function toCrlf(bytes: Buffer): Buffer {
  let bare = false;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if ((b === 0x0a && bytes[i - 1] !== 0x0d) || (b === 0x0d && bytes[i + 1] !== 0x0a)) {
      bare = true;
      break;
    }
  }
  if (!bare) return bytes;
  const out: number[] = [];
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b === 0x0d) {
      out.push(0x0d, 0x0a);
      if (bytes[i + 1] === 0x0a) i++;
    } else if (b === 0x0a) {
      out.push(0x0d, 0x0a);
    } else {
      out.push(b);
    }
  }
  return Buffer.from(out);
}

function describe(contentType: ReturnedContent['contentType'], content: Buffer): ReturnedContent {
  let eightBit = false;
  let longestLine = 0;
  let lineStart = 0;
  for (let i = 0; i < content.length; i++) {
    const b = content[i]!;
    if (b >= 0x80) eightBit = true;
    else if (b === 0x0a) {
      // content is CRLF-normalised, so the line is [lineStart, i - 1)
      longestLine = Math.max(longestLine, i - 1 - lineStart);
      lineStart = i + 1;
    }
  }
  longestLine = Math.max(longestLine, content.length - lineStart);
  return { contentType, content, eightBit, longestLine };
}

/** The header block: CRLF line ends, trailing blank line(s) dropped, ending in one CRLF. */
function headerBlock(headers: Buffer): Buffer {
  const crlf = toCrlf(headers);
  let end = crlf.length;
  while (end > 0 && (crlf[end - 1] === 0x0a || crlf[end - 1] === 0x0d)) end--;
  return Buffer.concat([crlf.subarray(0, end), Buffer.from('\r\n')]);
}

export function returnedContent(
  envelope: Envelope,
  original: { headers: Buffer; message?: Buffer; size: number },
  maxOriginalBytes: number,
): ReturnedContent {
  if (original.message && envelope.dsn.ret !== 'HDRS' && original.size <= maxOriginalBytes) {
    const whole = describe('message/rfc822', toCrlf(original.message));
    // a message/rfc822 body can only be 7bit/8bit, so an over-long line means headers only
    if (whole.longestLine <= MAX_LINE) return whole;
  }
  return describe('text/rfc822-headers', headerBlock(original.headers));
}
