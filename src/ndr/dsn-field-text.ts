/**
 * Text for the fields of a message/delivery-status part, which must be 7-bit (RFC 3464 §2.1.1,
 * RFC 6533 §3): one logical line per field, non-ASCII written as `\x{HEX}`, long lines folded.
 */
import { controlsToSpace } from './control-characters.js';

/** Longest physical line we write (RFC 5322 §2.1.1 recommends 78 and allows 998). */
const FOLD_AT = 78;
const MAX_WORD = 900;
const MAX_LINE = 998;
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
    text = controlsToSpace(text).replace(/[\u0080-\u{10FFFF}]/gu, (c) =>
      embeddedUnicodeChar(c.codePointAt(0)!),
    );
  }
  text = text.trim();
  return text.length > MAX_VALUE ? `${text.slice(0, MAX_VALUE)}...` : text;
}

/**
 * `Name: value` as physical lines joined by CRLF: folded at spaces before FOLD_AT where possible
 * (RFC 5322 §2.2.3); a word too long to fit within 998 is cut into pieces of MAX_WORD.
 * Index based (no per-word arrays): it runs once per recipient for long diagnostics.
 */
export function foldedField(name: string, value: string): string {
  const line = `${name}: ${value}`;
  if (line.length <= FOLD_AT) return line;
  const lines: string[] = [];
  let start = 0; // where the current physical line starts in `line`
  let lead = ''; // ' ' when the current physical line continues a cut word
  while (lead.length + line.length - start > FOLD_AT) {
    const limit = start + FOLD_AT - lead.length;
    // never fold before the value starts, nor at the space a continuation line starts with
    const from = lines.length === 0 ? name.length + 2 : start + 1;
    let fold = line.lastIndexOf(' ', limit);
    if (fold < from) {
      // no space within FOLD_AT: the line runs to the end of its first word if that fits in 998
      const next = line.indexOf(' ', Math.max(from, limit));
      fold = next === -1 ? line.length : next;
      if (lead.length + fold - start > MAX_LINE) {
        const cut = start + MAX_WORD - lead.length;
        lines.push(lead + line.slice(start, cut));
        start = cut;
        lead = ' ';
        continue;
      }
      if (fold === line.length) break;
    }
    lines.push(lead + line.slice(start, fold));
    start = fold;
    lead = '';
  }
  lines.push(lead + line.slice(start));
  return lines.join('\r\n');
}
