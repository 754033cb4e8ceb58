/**
 * Tags on captured mail, so that parallel tests sharing one relay each see (and delete) only their
 * own: every `X-Ims-Relay-Tag:` header field (comma-separated tags), and with `--tag-plus-address`
 * the `+tag` of each recipient's local part (`user+run42@example.test` → `run42`).
 */

/** Longest tag kept; longer ones are cut. */
const MAX_TAG = 200;

function clean(tag: string): string | undefined {
  const t = tag.trim().slice(0, MAX_TAG);
  return t === '' ? undefined : t;
}

function headerValues(headers: Map<string, unknown>, name: string): string[] {
  const value = headers.get(name);
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).map(String);
}

/** The tags of one captured message. */
export function messageTags(
  headers: Map<string, unknown>,
  recipients: readonly string[],
  options: { plusAddress: boolean },
): string[] {
  const tags = new Set<string>();
  for (const value of headerValues(headers, 'x-ims-relay-tag'))
    for (const part of value.split(',')) {
      const t = clean(part);
      if (t) tags.add(t);
    }
  if (options.plusAddress) {
    for (const r of recipients) {
      const at = r.lastIndexOf('@');
      const local = at < 0 ? r : r.slice(0, at);
      const plus = local.indexOf('+');
      if (plus < 0) continue;
      const t = clean(local.slice(plus + 1));
      if (t) tags.add(t);
    }
  }
  return [...tags];
}
