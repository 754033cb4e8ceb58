/**
 * Where a sender-routed address would really go. `user%remote.example@local.test` and
 * `remote.example!user@local.test` name local.test as their domain, but a next hop with the usual
 * defaults (Postfix's `allow_percent_hack`, `swap_bangpath`) sends them on to remote.example; so
 * does a quoted local part holding an `@` (`"user@remote.example"@local.test`). A source route
 * (`<@a,@b:user@c>`) is removed by smtp-server before the address gets here (RFC 5321 §4.1.2: it
 * must be accepted and should be ignored), which leaves `user@c` to be judged as it is.
 *
 * `routedHosts` lists every host the local part routes through, in the order a next hop would
 * use them; an ordinary address routes through none.
 */

/** The local part with its quotes and backslash escapes removed (`"a@b"` -> `a@b`). */
function dequote(localPart: string): string {
  if (!localPart.includes('"') && !localPart.includes('\\')) return localPart;
  let out = '';
  for (let i = 0; i < localPart.length; i++) {
    const c = localPart[i]!;
    if (c === '\\' && i + 1 < localPart.length) out += localPart[++i];
    else if (c !== '"') out += c;
  }
  return out;
}

/** Splits `local@domain` at the last `@` outside quotes; the domain is '' when there is none. */
export function splitAddress(address: string): { localPart: string; domain: string } {
  let quoted = false;
  let at = -1;
  for (let i = 0; i < address.length; i++) {
    const c = address[i];
    if (c === '\\') i++;
    else if (c === '"') quoted = !quoted;
    else if (c === '@' && !quoted) at = i;
  }
  return at < 0
    ? { localPart: address, domain: '' }
    : { localPart: address.slice(0, at), domain: address.slice(at + 1) };
}

/** The hosts a (dequoted) local part routes through. */
function hostsOf(local: string, depth: number): string[] {
  if (depth > 20) return ['']; // absurd nesting: judged as routed to nowhere local
  const at = local.lastIndexOf('@');
  if (at >= 0) return [local.slice(at + 1), ...hostsOf(local.slice(0, at), depth + 1)];
  const bang = local.split('!');
  if (bang.length > 1) return [...bang.slice(0, -1), ...hostsOf(bang[bang.length - 1]!, depth + 1)];
  const percent = local.lastIndexOf('%');
  if (percent >= 0) return [local.slice(percent + 1), ...hostsOf(local.slice(0, percent), depth + 1)];
  return [];
}

/**
 * The hosts the address's local part routes through (`%`, `!`, an `@` in a quoted local part),
 * lower-cased; empty for an ordinary address.
 */
export function routedHosts(address: string): string[] {
  const local = dequote(splitAddress(address).localPart);
  if (!/[@%!]/.test(local)) return [];
  return hostsOf(local, 0).map((h) => h.trim().toLowerCase());
}
