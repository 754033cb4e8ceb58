/**
 * Reading the header block of the original message: the Subject for the report's Subject line and
 * whether the original is itself a delivery report (RFC 3461 §6.2: never report on a report).
 */

/**
 * The raw value of the first `name:` field in a header block, unfolded (CRLF before WSP removed)
 * and trimmed; bytes decoded as UTF-8; encoded words left as they are. undefined when absent.
 */
export function headerFieldValue(headers: Buffer, name: string): string | undefined {
  // latin1 maps each byte to one character, so string offsets are byte offsets.
  const text = headers.toString('latin1');
  const wanted = name.toLowerCase();
  let lineStart = 0;
  while (lineStart < text.length) {
    let lineEnd = text.indexOf('\n', lineStart);
    if (lineEnd === -1) lineEnd = text.length;
    const line = text.slice(lineStart, lineEnd).replace(/\r$/, '');
    if (line === '') return undefined; // end of the header block
    const colon = line.indexOf(':');
    if (colon > 0 && line.slice(0, colon).trim().toLowerCase() === wanted) {
      // the field runs on over continuation lines (those starting with SP or HTAB)
      let end = lineEnd;
      while (end < text.length && (text[end + 1] === ' ' || text[end + 1] === '\t')) {
        const next = text.indexOf('\n', end + 1);
        end = next === -1 ? text.length : next;
      }
      const valueStart = lineStart + colon + 1;
      return headers
        .subarray(valueStart, end)
        .toString('utf8')
        .replace(/\r?\n(?=[ \t])/g, '')
        .trim();
    }
    lineStart = lineEnd + 1;
  }
  return undefined;
}

/** The original's Subject, raw and unfolded; undefined when it has none. */
export function originalSubject(headers: Buffer): string | undefined {
  return headerFieldValue(headers, 'subject');
}

/**
 * True when the header block says the message is a delivery status notification:
 * `Content-Type: multipart/report` with `report-type=delivery-status` (or RFC 6533's
 * `global-delivery-status`). The caller passes this as `isReport` to outcomesToReport.
 */
export function isDeliveryStatusReport(headers: Buffer): boolean {
  const contentType = headerFieldValue(headers, 'content-type');
  if (!contentType || !/^multipart\/report\s*(;|$)/i.test(contentType)) return false;
  const reportType = /;\s*report-type\s*=\s*"?([A-Za-z0-9._-]+)"?/i.exec(contentType);
  return !!reportType && /^(global-)?delivery-status$/i.test(reportType[1]!);
}
