/**
 * The on-disk format of one spool entry (version 1), documented in docs/spool.md:
 *
 *   IMSR/1 <envelope bytes>\n
 *   <envelope JSON>\n
 *   <message bytes: the RFC 5322 message with CRLF line ends>
 *   \nIMSR-END <message bytes, 16 digits> <CRC-32 of envelope JSON and message, 8 hex>\n
 *
 * The trailer has a fixed length and is written last, after the message: an entry that lost any
 * of its end (a truncated copy, a half-written file) has no valid trailer, or one whose length or
 * checksum disagrees with what precedes it, and is refused by `decodeEntry`.
 */
import zlib from 'node:zlib';
import type { Envelope } from '../message/envelope.js';

export const ENTRY_MAGIC = 'IMSR/1';
const TRAILER_TAG = '\nIMSR-END ';
export const TRAILER_LENGTH = TRAILER_TAG.length + 16 + 1 + 8 + 1;
/** The head line is short; anything longer is not an entry of this format. */
const MAX_HEAD_LINE = 64;

export function encodeEntryHead(envelope: Envelope): Buffer {
  const json = Buffer.from(JSON.stringify(envelope), 'utf8');
  return Buffer.concat([Buffer.from(`${ENTRY_MAGIC} ${json.length}\n`, 'latin1'), json, Buffer.from('\n')]);
}

/** CRC-32 of the envelope JSON, to be continued over the message with `zlib.crc32(chunk, crc)`. */
export function headChecksum(head: Buffer): number {
  const newline = head.indexOf(0x0a);
  return zlib.crc32(head.subarray(newline + 1, head.length - 1));
}

export function encodeEntryTrailer(messageBytes: number, crc: number): Buffer {
  return Buffer.from(
    `${TRAILER_TAG}${String(messageBytes).padStart(16, '0')} ${(crc >>> 0).toString(16).padStart(8, '0')}\n`,
    'latin1',
  );
}

export function encodeEntry(envelope: Envelope, message: Buffer): Buffer {
  const head = encodeEntryHead(envelope);
  const crc = zlib.crc32(message, headChecksum(head));
  return Buffer.concat([head, message, encodeEntryTrailer(message.length, crc)]);
}

export type HeadResult =
  { ok: true; envelope: Envelope; messageOffset: number } | { ok: false; reason: string };

/** Parses the head (magic, length, envelope) of an entry from its first bytes. */
export function decodeEntryHead(bytes: Buffer): HeadResult {
  // read in place (no subarray per step: this runs once per entry when a deep folder is listed)
  let newline = -1;
  for (let i = 0, end = Math.min(bytes.length, MAX_HEAD_LINE); i < end; i++)
    if (bytes[i] === 0x0a) {
      newline = i;
      break;
    }
  if (newline < 0) return { ok: false, reason: 'no spool entry head line' };
  const match = /^IMSR\/(\d+) (\d{1,12})$/.exec(bytes.toString('latin1', 0, newline));
  if (!match) return { ok: false, reason: 'not a spool entry (bad head line)' };
  if (match[1] !== '1') return { ok: false, reason: `unsupported spool entry version ${match[1]}` };
  const jsonEnd = newline + 1 + Number(match[2]);
  if (bytes.length < jsonEnd + 1) return { ok: false, reason: 'truncated envelope' };
  if (bytes[jsonEnd] !== 0x0a) return { ok: false, reason: 'envelope length does not match' };
  let envelope: Envelope;
  try {
    envelope = JSON.parse(bytes.toString('utf8', newline + 1, jsonEnd)) as Envelope;
  } catch {
    return { ok: false, reason: 'envelope is not valid JSON' };
  }
  if (
    envelope === null ||
    typeof envelope !== 'object' ||
    envelope.version !== 1 ||
    !Array.isArray(envelope.recipients)
  ) {
    return { ok: false, reason: 'envelope lacks version or recipients' };
  }
  return { ok: true, envelope, messageOffset: jsonEnd + 1 };
}

export type EntryResult = { ok: true; envelope: Envelope; message: Buffer } | { ok: false; reason: string };

/** Decodes a whole entry and verifies that nothing is missing or altered. */
export function decodeEntry(bytes: Buffer): EntryResult {
  const head = decodeEntryHead(bytes);
  if (!head.ok) return head;
  if (bytes.length < head.messageOffset + TRAILER_LENGTH)
    return { ok: false, reason: 'truncated: no trailer' };
  const trailer = bytes.subarray(bytes.length - TRAILER_LENGTH).toString('latin1');
  const match = /^\nIMSR-END (\d{16}) ([0-9a-f]{8})\n$/.exec(trailer);
  if (!match) return { ok: false, reason: 'truncated: no valid trailer' };
  const messageBytes = Number(match[1]);
  if (head.messageOffset + messageBytes + TRAILER_LENGTH !== bytes.length) {
    return { ok: false, reason: 'truncated: length does not match the trailer' };
  }
  const message = bytes.subarray(head.messageOffset, head.messageOffset + messageBytes);
  const crc = zlib.crc32(
    message,
    zlib.crc32(bytes.subarray(bytes.indexOf(0x0a) + 1, head.messageOffset - 1)),
  );
  if ((crc >>> 0).toString(16).padStart(8, '0') !== match[2])
    return { ok: false, reason: 'checksum mismatch' };
  return { ok: true, envelope: head.envelope, message };
}
