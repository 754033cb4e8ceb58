/**
 * The on-disk form of one captured message: what an MTA's final delivery adds — `Return-Path:`
 * with the envelope sender and one `Delivered-To:` line per envelope recipient — followed by the
 * message exactly as it was received (CRLF line ends, as in the spool). The envelope is therefore
 * in the file itself, and the index can be rebuilt from the files alone.
 *
 * Files are named `<capture id>.eml`; a capture ID is `<queue id>.<n>` (n counts the captures of
 * one queue ID: a message whose recipients were delivered in several attempts is captured once
 * per attempt).
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';

export const CAPTURE_ID = /^([0-9A-F]{11}-[0-9A-F]{5}-[0-9A-F]{4})\.([1-9]\d{0,5})$/;

export function isCaptureId(id: string): boolean {
  return CAPTURE_ID.test(id);
}

export function captureId(queueId: string, n: number): string {
  return `${queueId}.${n}`;
}

/** The queue ID a capture ID was made from. */
export function queueIdOf(id: string): string {
  return id.slice(0, id.lastIndexOf('.'));
}

/** A header value must stay one line: CR and LF (never in a valid address) are dropped. */
const oneLine = (s: string) => s.replace(/[\r\n]/g, '');

/** The trace lines written before the message (CRLF ends, or LF for a Maildir). */
export function traceHeader(sender: string, recipients: readonly string[], eol = '\r\n'): string {
  let head = `Return-Path: <${oneLine(sender)}>${eol}`;
  for (const r of recipients) head += `Delivered-To: ${oneLine(r)}${eol}`;
  return head;
}

export interface StoredEnvelope {
  sender: string;
  recipients: string[];
  /** Where the message as received starts in the file. */
  messageStart: number;
}

/**
 * Reads the trace lines back: the envelope sender and recipients, and where the received message
 * starts. Undefined when the file does not start with a `Return-Path:` line.
 */
export function readTraceHeader(file: Buffer): StoredEnvelope | undefined {
  // latin1 keeps byte offsets; values with UTF-8 (SMTPUTF8 addresses) are decoded again below
  const text = file.toString('latin1');
  const utf8 = (s: string) => (/[\u0080-\u00ff]/.test(s) ? Buffer.from(s, 'latin1').toString('utf8') : s);
  const valueAt = (from: number, end: number) => text.slice(from, text[end - 1] === '\r' ? end - 1 : end);
  let end = text.indexOf('\n');
  if (end < 0 || !/^return-path: </i.test(text.slice(0, 14))) return undefined;
  const first = valueAt(13, end).trim();
  if (!first.startsWith('<') || !first.endsWith('>')) return undefined;
  const sender = utf8(first.slice(1, -1));
  const recipients: string[] = [];
  let pos = end + 1;
  for (;;) {
    end = text.indexOf('\n', pos);
    if (
      end < 0 ||
      !(text.startsWith('Delivered-To: ', pos) || /^delivered-to: /i.test(text.slice(pos, pos + 14)))
    )
      break;
    recipients.push(utf8(valueAt(pos + 14, end)));
    pos = end + 1;
  }
  return { sender, recipients, messageStart: pos };
}

/** Writes `parts` to `file` (a new file) and fsyncs it; the caller renames it into place. */
export async function writeFileDurably(file: string, parts: (string | Buffer)[]): Promise<void> {
  const handle = await fsp.open(file, 'wx', 0o600);
  try {
    for (const part of parts) await handle.write(typeof part === 'string' ? Buffer.from(part, 'utf8') : part);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** The message file's bytes, or undefined when it is gone. */
export function readMessageFile(file: string): Buffer | undefined {
  try {
    return fs.readFileSync(file);
  } catch {
    return undefined;
  }
}
