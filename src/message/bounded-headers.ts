/**
 * A header block made small enough to parse for a view. A message to 32,766 people may list them
 * all in its To: field (about 1 MB); parsing that into address objects takes some 70 MB and half a
 * second, for a summary nobody reads past the first lines. The views (admin API, test API, CLI)
 * parse a copy whose address fields are cut at a top-level comma after `maxFieldBytes`, with an
 * empty group `"N more addresses not shown":;` in place of the rest. The stored message, the
 * delivery and the reports always use the message as it is.
 */

/** Longest field value kept for a view, in bytes. */
export const MAX_VIEW_FIELD_BYTES = 16 * 1024;

/** Where a header block ends: the offset just past its last field's line end, or -1. */
function headerEnd(source: Buffer): number {
  const crlf = source.indexOf('\r\n\r\n');
  const lf = source.indexOf('\n\n');
  if (crlf < 0) return lf < 0 ? -1 : lf + 1;
  if (lf < 0) return crlf + 2;
  return Math.min(crlf + 2, lf + 1);
}

/**
 * Cuts an address list after `max` bytes at a comma outside quotes, comments and angle brackets.
 * Returns the kept text and how many list members were left out.
 */
function cutAddressList(value: string, max: number): { kept: string; omitted: number } | undefined {
  let quoted = false;
  let depth = 0; // ( comment ) and < angle > nesting
  let cut = -1;
  let omitted = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (quoted) {
      if (c === '\\') i++;
      else if (c === '"') quoted = false;
    } else if (c === '"') quoted = true;
    else if (c === '(' || c === '<') depth++;
    else if ((c === ')' || c === '>') && depth > 0) depth--;
    else if (c === ',' && depth === 0) {
      if (i <= max)
        cut = i; // the last comma before the limit
      else omitted++;
    }
  }
  if (cut < 0) return undefined;
  // the members after the cut: one per top-level comma after it, plus the last one
  if (value.slice(cut + 1).trim() === '') return undefined;
  return { kept: value.slice(0, cut), omitted: omitted + 1 };
}

/**
 * The source with each header field longer than `maxFieldBytes` cut down (address lists at a
 * member boundary, with a group that says how many were left out; other fields at the byte
 * limit). The same Buffer when nothing is that long.
 */
export function boundHeadersForView(source: Buffer, maxFieldBytes = MAX_VIEW_FIELD_BYTES): Buffer {
  const end = headerEnd(source);
  const blockEnd = end < 0 ? source.length : end;
  if (blockEnd <= maxFieldBytes) return source;
  const text = source.toString('latin1', 0, blockEnd); // one character per byte
  const out: string[] = [];
  let changed = false;
  let start = 0;
  while (start < text.length) {
    // a field: its first line and every continuation line (starting with SP or HTAB)
    let stop = text.indexOf('\n', start);
    while (stop >= 0 && (text[stop + 1] === ' ' || text[stop + 1] === '\t'))
      stop = text.indexOf('\n', stop + 1);
    const fieldEnd = stop < 0 ? text.length : stop + 1;
    const field = text.slice(start, fieldEnd);
    start = fieldEnd;
    if (field.length <= maxFieldBytes) {
      out.push(field);
      continue;
    }
    changed = true;
    const colon = field.indexOf(':');
    const name = colon > 0 ? field.slice(0, colon) : '';
    const value = field.slice(colon + 1).replace(/\r?\n$/, '');
    const list = /^\s*(to|cc|bcc|from|reply-to|sender|resent-(to|cc|bcc|from))\s*$/i.test(name)
      ? cutAddressList(value, maxFieldBytes)
      : undefined;
    if (list) {
      out.push(`${name}:${list.kept},\r\n "${list.omitted} more addresses not shown":;\r\n`);
    } else {
      // not a list (or no comma to cut at): keep the first bytes, never in the middle of a line end
      out.push(field.slice(0, maxFieldBytes).replace(/\r?\n?[ \t]*$/, '') + '\r\n');
    }
  }
  if (!changed) return source;
  return Buffer.concat([Buffer.from(out.join(''), 'latin1'), source.subarray(blockEnd)]);
}
