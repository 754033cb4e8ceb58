/**
 * A message of one plain-text part (no MIME structure: a text/plain body in UTF-8 or US-ASCII,
 * 7bit, 8bit or quoted-printable, no Content-Disposition) read the way mailparser reads it, without its streaming
 * MIME parser: the header block goes through the same code mailparser uses (mailsplit's header
 * reader, then mailparser's own header processing), and the body is the text mailparser would
 * give (quoted-printable decoded by the decoder mailsplit uses, then UTF-8, line ends made LF).
 * Anything else is left to mailparser.
 *
 * Why: capture mode indexes every message before its 250. mailparser's pipeline (a splitter, a
 * tree of streams and decoders) costs about 0.1 ms a message once V8 has optimised it, but a
 * relay's first few thousand messages run it cold, at 0.5-2 ms each (docs/performance.md).
 * Most test mail is one plain-text part.
 *
 * The result equals mailparser's for every message this path takes; src/message/plain-text-parse.test.ts
 * compares the two on generated messages.
 */

/** What the index reads of a parsed message (a subset of mailparser's ParsedMail). */
export interface PlainTextMail {
  headers: Map<string, unknown>;
  subject: string | undefined;
  from: { text: string } | undefined;
  date: Date | undefined;
  text: string;
}

interface HeaderLine {
  key: string;
  line: string;
}
export interface Tools {
  /** mailsplit's header reader, as mailparser's splitter builds it for a node. */
  headerLines: (block: Buffer) => HeaderLine[];
  /** mailparser's header processing (decoded words, addresses, dates), as it runs for the root node. */
  processHeaders: (lines: HeaderLine[]) => Map<string, unknown>;
  /** The quoted-printable decoding of mailsplit's decoder (libqp: the stream decodes the whole body at its end). */
  decodeQuotedPrintable: (body: Buffer) => Buffer;
}

/** A header block larger than this goes to mailparser (which refuses one too large). */
const MAX_HEADER_BLOCK = 64 * 1024;
/** Charsets mailparser reads as plain UTF-8 (its own test, on the name with non-alphanumerics removed). */
const UTF8_CHARSETS = new Set(['ascii', 'usascii', 'utf8']);
const PLAIN_ENCODINGS = new Set(['7bit', '8bit', 'binary']);
const QUOTED_PRINTABLE = 'quoted-printable';

/** A module loaded by a name held in a variable (these two have no type declarations here). */
async function load(name: string): Promise<Record<string, unknown>> {
  const mod = (await import(name)) as { default?: Record<string, unknown> } & Record<string, unknown>;
  return mod.default ?? mod;
}

/**
 * The pieces of mailparser's own code this path uses: its header processing (from the loaded
 * mailparser module), mailsplit's header reader and the libqp decoding mailsplit runs (both
 * dependencies of mailparser's, one version each through package.json's overrides). Null when any
 * is missing or changed, and then every message goes to mailparser.
 */
export async function plainTextTools(mailparser: { MailParser: unknown }): Promise<Tools | null> {
  try {
    const { Headers } = (await load('@zone-eu/mailsplit')) as {
      Headers?: new (block: Buffer) => { getList(): HeaderLine[] };
    };
    const { decode } = (await load('libqp')) as { decode?: (input: Buffer) => Buffer };
    const MailParser = mailparser.MailParser as new () => {
      processHeaders?: (lines: HeaderLine[]) => Map<string, unknown>;
    };
    const parser = new MailParser();
    const processHeaders = parser.processHeaders;
    if (typeof Headers !== 'function' || typeof processHeaders !== 'function' || typeof decode !== 'function')
      return null;
    return {
      headerLines: (block) => new Headers(block).getList(),
      processHeaders: (lines) => processHeaders.call(parser, lines),
      decodeQuotedPrintable: (body) => decode(body),
    };
  } catch {
    return null;
  }
}

/**
 * Where the header block ends as mailsplit's splitter sees it: just past the first empty line
 * ("\n" or "\r\n"); the whole source when there is none.
 */
function headerBlockEnd(source: Buffer): number {
  let pos = 0;
  while (pos < source.length) {
    const nl = source.indexOf(10, pos);
    if (nl < 0) return source.length;
    if (nl === pos || (nl === pos + 1 && source[pos] === 13)) return nl + 1;
    pos = nl + 1;
  }
  return source.length;
}

function single(headers: Map<string, unknown>, lines: HeaderLine[], key: string): boolean {
  let n = 0;
  for (const l of lines) if (l.key === key) n++;
  return n <= 1 && (n === 0) === !headers.has(key);
}

/** The message read as one plain-text part, or undefined when it is not one (mailparser reads it then). */
export function parsePlainText(source: Buffer, tools: Tools): PlainTextMail | undefined {
  const end = headerBlockEnd(source);
  if (end > MAX_HEADER_BLOCK) return undefined;
  let lines: HeaderLine[];
  let headers: Map<string, unknown>;
  try {
    lines = tools.headerLines(source.subarray(0, end));
    headers = tools.processHeaders(lines);
  } catch {
    return undefined;
  }
  if (lines.some((l) => l.key === 'content-disposition')) return undefined;
  if (!single(headers, lines, 'content-type') || !single(headers, lines, 'content-transfer-encoding'))
    return undefined;
  const type = headers.get('content-type') as
    { value?: unknown; params?: Record<string, unknown> } | undefined;
  if (type !== undefined) {
    if (typeof type.value !== 'string' || type.value.toLowerCase() !== 'text/plain') return undefined;
    const params = Object.keys(type.params ?? {});
    if (params.some((p) => p !== 'charset')) return undefined;
    const charset = type.params?.charset;
    if (charset !== undefined) {
      if (typeof charset !== 'string') return undefined;
      if (!UTF8_CHARSETS.has(charset.toLowerCase().replace(/[^a-z0-9]+/g, ''))) return undefined;
    }
  }
  const given = headers.get('content-transfer-encoding');
  if (given !== undefined && typeof given !== 'string') return undefined;
  const encoding = given?.toLowerCase();
  if (encoding !== undefined && encoding !== QUOTED_PRINTABLE && !PLAIN_ENCODINGS.has(encoding))
    return undefined;
  let body = source.subarray(end);
  if (encoding === QUOTED_PRINTABLE && body.length > 0) body = tools.decodeQuotedPrintable(body);
  const date = headers.get('date');
  const from = headers.get('from') as { text?: unknown } | undefined;
  const subject = headers.get('subject');
  return {
    headers,
    subject: typeof subject === 'string' ? subject : undefined,
    from: from && typeof from.text === 'string' ? { text: from.text } : undefined,
    date: date instanceof Date ? date : undefined,
    text: body.toString().replace(/\r?\n/g, '\n'),
  };
}
