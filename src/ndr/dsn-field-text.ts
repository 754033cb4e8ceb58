/**
 * Text for the fields of a message/delivery-status part, which must be 7-bit (RFC 3464 §2.1.1,
 * RFC 6533 §3): one logical line per field, non-ASCII written as `\x{HEX}`, long lines folded.
 */

/** Longest physical line we write (RFC 5322 §2.1.1 recommends 78 and allows 998). */
const FOLD_AT = 78;
const MAX_WORD = 900;
/** A field value longer than this is cut, so one upstream reply cannot blow up a report. */
const MAX_VALUE = 4000;

function embeddedUnicodeChar(codePoint: number): string {
  return `\\x{${codePoint.toString(16).toUpperCase().padStart(2, '0')}}`;
}

/**
 * RFC 6533 §3 utf-8-addr-xtext: printable ASCII except `+`, `=` and `\` as is, everything else as
 * `\x{HEX}` (EmbeddedUnicodeChar).
 */
export function utf8AddrXtext(address: string): string {
  let out = '';
  for (const char of address) {
    const cp = char.codePointAt(0)!;
    out +=
      cp > 0x20 && cp < 0x7f && char !== '+' && char !== '=' && char !== '\\'
        ? char
        : embeddedUnicodeChar(cp);
  }
  return out;
}

/**
 * A `Final-Recipient`/`Original-Recipient` value for a plain address: `rfc822; addr` when the
 * address is printable ASCII (a quoted local part may hold spaces), else `utf-8; <utf-8-addr-xtext>` (RFC 6533).
 */
export function recipientFieldValue(address: string): string {
  return /^[\x20-\x7e]+$/.test(address) ? `rfc822; ${address}` : `utf-8; ${utf8AddrXtext(address)}`;
}

/**
 * Free text (a reply, a host name, an ORCPT as given) as one 7-bit line: line breaks and other
 * control characters become single spaces, non-ASCII becomes `\x{HEX}`, the result is trimmed and
 * capped at MAX_VALUE characters.
 */
export function fieldText(value: string): string {
  let text = value;
  if (!/^[\x20-\x7e]*$/.test(text)) {
    text = text
      .replace(/[\x00-\x1f\x7f]+/g, ' ')
      .replace(/[^\x00-\x7f]/gu, (c) => embeddedUnicodeChar(c.codePointAt(0)!));
  }
  text = text.trim();
  return text.length > MAX_VALUE ? `${text.slice(0, MAX_VALUE)}...` : text;
}

/**
 * `Name: value` as physical lines joined by CRLF: folded at spaces before FOLD_AT where possible
 * (RFC 5322 §2.2.3), a single word longer than MAX_WORD cut into pieces so no line exceeds 998.
 */
export function foldedField(name: string, value: string): string {
  const line = `${name}: ${value}`;
  if (line.length <= FOLD_AT) return line;
  const words = value.split(' ').flatMap((w) => {
    if (w.length <= MAX_WORD) return [w];
    const pieces: string[] = [];
    for (let i = 0; i < w.length; i += MAX_WORD) pieces.push(w.slice(i, i + MAX_WORD));
    return pieces;
  });
  const lines: string[] = [];
  let current = `${name}:`;
  for (const word of words) {
    if (word === '') continue;
    if (current.length + 1 + word.length > FOLD_AT && current.trim() !== `${name}:`) {
      lines.push(current);
      current = ` ${word}`;
    } else {
      current += ` ${word}`;
    }
  }
  lines.push(current);
  return lines.join('\r\n');
}
