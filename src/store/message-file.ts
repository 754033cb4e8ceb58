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
  let pos = 0;
  let sender: string | undefined;
  const recipients: string[] = [];
  for (;;) {
    const end = file.indexOf(0x0a, pos);
    if (end < 0) break;
    const line = file.toString('utf8', pos, end).replace(/\r$/, '');
    if (sender === undefined) {
      const m = /^Return-Path: <(.*)>$/i.exec(line);
      if (!m) return undefined;
      sender = m[1]!;
    } else {
      const m = /^Delivered-To: (.*)$/i.exec(line);
      if (!m) break;
      recipients.push(m[1]!);
    }
    pos = end + 1;
  }
  return sender === undefined ? undefined : { sender, recipients, messageStart: pos };
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
