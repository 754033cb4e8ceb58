/**
 * The on-disk form of one captured message, as an MTA's final delivery writes it:
 *
 * - one recipient: `Return-Path:`, `X-Original-To:` and `Delivered-To:` (what Postfix's local(8)
 *   prepends to a mailbox delivery), then the message exactly as received (CRLF, as in the spool);
 * - several recipients: `Return-Path:` only, then the message (as Postfix's pipe(8) and other
 *   multi-recipient deliveries into one copy do: `Delivered-To:` names one recipient, so it is
 *   added only when the delivery has one), and the envelope recipients in a sidecar file
 *   `envelopes/<capture id>.rcpt`, one per line (UTF-8, LF ends).
 *
 * The envelope is therefore in the files, and the index can be rebuilt from them alone. Files of
 * earlier versions (`Return-Path:` then one `Delivered-To:` line per recipient, no sidecar) are
 * read as they are.
 *
 * Files are named `<capture id>.eml`; a capture ID is `<queue id>.<n>` (n counts the captures of
 * one queue ID: a message whose recipients were delivered in several attempts is captured once
 * per attempt).
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import { promisify } from 'node:util';
import { writeAllSync } from '../spool/entry-writer.js';

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

/**
 * `Return-Path:` and one `Delivered-To:` line per recipient (CRLF ends, or LF): the head of a
 * Maildir file (one file linked into each recipient's Maildir), and of store files of earlier
 * versions.
 */
export function traceHeader(sender: string, recipients: readonly string[], eol = '\r\n'): string {
  let head = `Return-Path: <${oneLine(sender)}>${eol}`;
  for (const r of recipients) head += `Delivered-To: ${oneLine(r)}${eol}`;
  return head;
}

/**
 * The lines a store file starts with: `Return-Path:`, and for a single recipient
 * `X-Original-To:` and `Delivered-To:` as well (several recipients go to the sidecar).
 */
export function deliveryHeader(sender: string, recipients: readonly string[]): string {
  let head = `Return-Path: <${oneLine(sender)}>\r\n`;
  if (recipients.length === 1) {
    const r = oneLine(recipients[0]!);
    head += `X-Original-To: ${r}\r\nDelivered-To: ${r}\r\n`;
  }
  return head;
}

/** Whether a capture for these recipients has an envelope sidecar (more than one recipient). */
export const needsEnvelopeFile = (recipients: readonly string[]) => recipients.length > 1;

/** The sidecar's content: the envelope recipients as given, one a line. */
export function envelopeFile(recipients: readonly string[]): Buffer {
  return Buffer.from(recipients.map((r) => oneLine(r) + '\n').join(''), 'utf8');
}

/** The recipients of a sidecar file. */
export function readEnvelopeFile(bytes: Buffer): string[] {
  return bytes
    .toString('utf8')
    .split('\n')
    .map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l))
    .filter((l) => l.length > 0);
}

export interface StoredEnvelope {
  sender: string;
  recipients: string[];
  /** Where the message as received starts in the file. */
  messageStart: number;
}

/**
 * Reads the delivery lines back: the envelope sender and recipients, and where the received
 * message starts. `sidecar` is the capture's envelope file when it has one (then the file holds
 * `Return-Path:` only and the recipients are the sidecar's). Without one, the file is either of
 * this version for one recipient (`X-Original-To:` then `Delivered-To:`) or of an earlier version
 * (`Delivered-To:` lines). Undefined when the file does not start with a `Return-Path:` line.
 */
export function readTraceHeader(file: Buffer, sidecar?: Buffer): StoredEnvelope | undefined {
  // latin1 keeps byte offsets; values with UTF-8 (SMTPUTF8 addresses) are decoded again below
  const text = file.toString('latin1', 0, Math.min(file.length, 64 * 1024));
  const utf8 = (s: string) => (/[\u0080-\u00ff]/.test(s) ? Buffer.from(s, 'latin1').toString('utf8') : s);
  const valueAt = (from: number, end: number) => text.slice(from, text[end - 1] === '\r' ? end - 1 : end);
  const fieldAt = (pos: number, name: string) =>
    text.startsWith(name, pos) || text.slice(pos, pos + name.length).toLowerCase() === name.toLowerCase();
  let end = text.indexOf('\n');
  if (end < 0 || !fieldAt(0, 'Return-Path: <')) return undefined;
  const first = valueAt(13, end).trim();
  if (!first.startsWith('<') || !first.endsWith('>')) return undefined;
  const sender = utf8(first.slice(1, -1));
  let pos = end + 1;
  if (sidecar) return { sender, recipients: readEnvelopeFile(sidecar), messageStart: pos };
  if (fieldAt(pos, 'X-Original-To: ')) {
    // this version, one recipient: X-Original-To, then the Delivered-To line that names it
    const next = text.indexOf('\n', pos);
    const after = next < 0 ? -1 : text.indexOf('\n', next + 1);
    if (next >= 0 && after >= 0 && fieldAt(next + 1, 'Delivered-To: '))
      return { sender, recipients: [utf8(valueAt(next + 15, after))], messageStart: after + 1 };
  }
  // an earlier version: one Delivered-To line per recipient (the whole file is needed for 32,766)
  const whole = text.length < file.length ? file.toString('latin1') : text;
  const recipients: string[] = [];
  for (;;) {
    end = whole.indexOf('\n', pos);
    if (
      end < 0 ||
      !(whole.startsWith('Delivered-To: ', pos) || /^delivered-to: /i.test(whole.slice(pos, pos + 14)))
    )
      break;
    recipients.push(utf8(whole.slice(pos + 14, whole[end - 1] === '\r' ? end - 1 : end)));
    pos = end + 1;
  }
  return { sender, recipients, messageStart: pos };
}

const fsync = promisify(fs.fsync);

/** Files up to this size are created and written on the event loop (tens of µs), larger ones in libuv's pool. */
const WRITE_ON_LOOP_BYTES = 256 * 1024;

/**
 * Writes `parts` to `file` (a new file) and fsyncs it; the caller renames it into place. A small
 * file is opened, written and closed on this thread and only its fsync, which waits for the disk,
 * goes to libuv's pool (as the spool's EntryWriter does): each of those calls costs about what a
 * round trip to a pool thread costs, and a capture made three of them before.
 */
export async function writeFileDurably(file: string, parts: (string | Buffer)[]): Promise<void> {
  const buffers = parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : p));
  const total = buffers.reduce((n, b) => n + b.length, 0);
  if (total > WRITE_ON_LOOP_BYTES) {
    const handle = await fsp.open(file, 'wx', 0o600);
    try {
      for (const b of buffers) await handle.write(b);
      await handle.sync();
    } finally {
      await handle.close();
    }
    return;
  }
  const fd = fs.openSync(file, 'wx', 0o600);
  try {
    writeAllSync(fd, buffers);
    await fsync(fd);
  } finally {
    fs.closeSync(fd);
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
