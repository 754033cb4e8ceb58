/**
 * A path with a quoted local part (RFC 5321 §4.1.2: `Quoted-string`), e.g.
 * `RCPT TO:<"a b"@x.test>`: smtp-server splits the command at whitespace and answered 501. The
 * connection hands smtp-server the path with a plain stand-in local part and puts the quoted one
 * back into the parsed address.
 */

/** `"` *(qtextSMTP / quoted-pairSMTP) `"`; non-ASCII (SMTPUTF8) is checked by the listener. */
const QUOTED_STRING = /^"(?:[\x20\x21\x23-\x5b\x5d-\x7e\u0080-\uffff]|\\[\x20-\x7e])*"$/;
/** The command up to the path, the quoted local part, the rest of the path and the parameters. */
const PATH_WITH_QUOTE =
  /^([A-Za-z]+ [A-Za-z]+\s*:\s*<(?:@[^:<>\s]+:)?)("(?:[^"\\\r\n]|\\.)*")(@[^<>\s"]*>.*)$/s;

export interface QuotedPath {
  /** The command with `x` in place of the quoted local part. */
  command: string;
  /** The quoted local part, as the client wrote it. */
  localPart: string;
}

/** The command's quoted local part and a stand-in command, or undefined when it has none. */
export function quotedPath(command: string): QuotedPath | undefined {
  const m = PATH_WITH_QUOTE.exec(command);
  if (!m || !QUOTED_STRING.test(m[2]!)) return undefined;
  return { command: `${m[1]}x${m[3]}`, localPart: m[2]! };
}

/** The parsed address with the quoted local part put back. */
export function withLocalPart(address: string, localPart: string): string {
  const at = address.lastIndexOf('@');
  return at < 0 ? address : localPart + address.slice(at);
}
