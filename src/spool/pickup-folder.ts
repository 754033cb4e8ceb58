/**
 * The pickup folder (Exchange pickup convention): `<spool>/pickup/*.eml` files whose envelope is in
 * leading `X-Sender:` and `X-Receiver:` lines, any number of X-Receiver lines. Each file is moved
 * into in/ as a spool entry — envelope from those lines, the lines removed from the message — with
 * no recipient limit: this is how a message with more than 32,766 recipients reaches the spool, as
 * in Q272672. A file without a valid X-Receiver, or whose header block is over the opt-in limit
 * (Q193639; by default there is none), goes to bad/ as it is.
 *
 * Exactly once: a file is first renamed to `.claimed-<queue-id>-<name>` (ignored by scans), the
 * entry is committed under that queue ID, then the claim is removed. After a crash, `recoverClaims`
 * removes claims whose entry exists and hands the others back to the folder.
 */
import fsp from 'node:fs/promises';
import path from 'node:path';
import { MessageIntake } from '../message/message-intake.js';
import { pickupEnvelope } from './pickup-envelope.js';
import { fileKind, openRegularFile, restrictMode } from './regular-file.js';
import type { Spool } from './spool.js';

export type PickupResult =
  | { ok: true; file: string; queueId: string; recipients: number; size: number; headerBytes: number }
  | { ok: false; file: string; reason: string; movedTo: string };

/** The longest file name most file systems take (ext4, tmpfs, xfs: 255 bytes). */
const MAX_NAME_BYTES = 255;

/** `<queue-id>-<name>` for bad/, the name cut (at a character) so that the whole fits. */
function badName(queueId: string, name: string): string {
  let cut = name;
  while (Buffer.byteLength(`${queueId}-${cut}`) > MAX_NAME_BYTES) cut = [...cut].slice(0, -1).join('');
  return `${queueId}-${cut}`;
}

const CLAIM = /^\.claimed-([0-9A-F]{11}-[0-9A-F]{5}-[0-9A-F]{4})-(.+)$/;
const MAX_ENVELOPE_LINE = 4096;
const ADDRESS = /^[^\s<>@]+@[^\s<>@]+$/;

function parseAddress(value: string): string | undefined {
  const v = value
    .trim()
    .replace(/^<(.*)>$/, '$1')
    .trim();
  return ADDRESS.test(v) ? v : undefined;
}

export class PickupFolder {
  constructor(
    private readonly spool: Spool,
    /** maxHeaderBytes 0: no limit of its own. */
    private readonly limits: { maxHeaderBytes: number; maxMessageSize: number },
  ) {}

  private get dir(): string {
    return this.spool.folder('pickup');
  }

  /** `*.eml` files waiting, oldest name first. */
  async waiting(): Promise<string[]> {
    return (await fsp.readdir(this.dir)).filter((n) => n.endsWith('.eml') && !n.startsWith('.')).sort();
  }

  /** After a crash: claims whose entry was committed are removed, the others go back. */
  async recoverClaims(): Promise<{ completed: string[]; returned: string[] }> {
    const completed: string[] = [];
    const returned: string[] = [];
    for (const name of await fsp.readdir(this.dir)) {
      const m = CLAIM.exec(name);
      if (!m) continue;
      if (await this.spool.locate(m[1]!)) {
        await fsp.rm(path.join(this.dir, name), { force: true });
        completed.push(m[2]!);
      } else {
        await fsp.rename(path.join(this.dir, name), path.join(this.dir, m[2]!));
        returned.push(m[2]!);
      }
    }
    return { completed, returned };
  }

  /**
   * Ingests one waiting file. Nothing in pickup/ is trusted: a symbolic link is not followed, a
   * FIFO, device or directory is not opened, a name too long to claim, a file over
   * `--max-message-size` (checked before reading) or with an invalid envelope goes to bad/ (mode
   * 0600) with the reason, and the next file is taken.
   */
  async ingest(name: string): Promise<PickupResult> {
    const queueId = this.spool.newQueueId();
    const source = path.join(this.dir, name);
    const refuse = async (from: string, reason: string): Promise<PickupResult> => {
      const target = path.join(this.spool.folder('bad'), badName(queueId, name));
      await fsp.rename(from, target);
      await restrictMode(target);
      return { ok: false, file: name, reason, movedTo: target };
    };
    const stats = await fsp.lstat(source);
    if (!stats.isFile()) return refuse(source, `${fileKind(stats)}: only regular files are taken`);
    const claimName = `.claimed-${queueId}-${name}`;
    if (Buffer.byteLength(claimName) > MAX_NAME_BYTES)
      return refuse(source, `file name too long (${Buffer.byteLength(name)} bytes) to be claimed`);
    const claimed = path.join(this.dir, claimName);
    await fsp.rename(source, claimed);
    // checked again on the descriptor: what was renamed may not be what lstat saw
    const opened = await openRegularFile(claimed);
    if (!opened.ok) {
      if (opened.transient) {
        await fsp.rename(claimed, source); // locked for now: the next scan tries again
        throw Object.assign(new Error(`pickup file ${name} ${opened.reason}`), { code: opened.code });
      }
      return refuse(claimed, opened.reason);
    }
    if (opened.size > this.limits.maxMessageSize) {
      await opened.handle.close();
      return refuse(
        claimed,
        `${opened.size} bytes, over --max-message-size (${this.limits.maxMessageSize} bytes)`,
      );
    }
    const parsed = await this.copyIntoSpool(opened.handle, queueId);
    if (!parsed.ok) return refuse(claimed, parsed.reason);
    await fsp.rm(claimed, { force: true });
    return {
      ok: true,
      file: name,
      queueId,
      recipients: parsed.recipients,
      size: parsed.size,
      headerBytes: parsed.headerBytes,
    };
  }

  /** Copies the file (streamed, never read whole) into a new entry; closes `handle`. */
  private async copyIntoSpool(
    handle: fsp.FileHandle,
    queueId: string,
  ): Promise<
    { ok: true; recipients: number; size: number; headerBytes: number } | { ok: false; reason: string }
  > {
    let sender = '';
    const recipients: string[] = [];
    const seen = new Set<string>();
    let line: Buffer[] = [];
    let lineBytes = 0;
    let envelopeDone = false;
    let writer: ReturnType<Spool['createEntry']> | undefined;
    const intake = new MessageIntake({
      maxHeaderBytes: this.limits.maxHeaderBytes,
      maxMessageSize: this.limits.maxMessageSize,
      bareLf: 'normalize',
    });
    let failure: string | undefined;

    const startMessage = (): boolean => {
      if (recipients.length === 0) {
        failure = 'no valid X-Receiver: line';
        return false;
      }
      writer = this.spool.createEntry(pickupEnvelope(queueId, new Date().toISOString(), sender, recipients));
      return true;
    };
    const message = async (bytes: Buffer): Promise<boolean> => {
      const out = intake.process(bytes);
      if (intake.refusal) {
        failure =
          intake.refusal === 'size'
            ? `over --max-message-size (${this.limits.maxMessageSize} bytes)`
            : `header block over ${this.limits.maxHeaderBytes} bytes (Q193639)`;
        return false;
      }
      if (out && out.length > 0 && !writer!.write(out)) await new Promise((r) => writer!.once('drain', r));
      return true;
    };
    /** Takes one X-Sender/X-Receiver line; false when it is invalid. */
    const envelopeLine = (text: string): boolean => {
      // [^] and not .: a bare CR (or any other line separator) is part of the value, and refused there
      const m = /^X-(Sender|Receiver):([^]*)$/i.exec(text)!;
      const value = m[2]!.trim();
      if (m[1]!.toLowerCase() === 'sender') {
        const address = value === '' || value === '<>' ? '' : parseAddress(value);
        if (address === undefined) failure = `invalid X-Sender: ${JSON.stringify(value.slice(0, 200))}`;
        else sender = address;
        return address !== undefined;
      }
      const address = parseAddress(value);
      if (address === undefined) {
        failure = `invalid X-Receiver: ${JSON.stringify(value.slice(0, 200))}`;
        return false;
      }
      if (!seen.has(address.toLowerCase())) {
        seen.add(address.toLowerCase());
        recipients.push(address);
      }
      return true;
    };
    const isEnvelopeLine = (bytes: Buffer) =>
      /^X-(Sender|Receiver):/i.test(bytes.subarray(0, 12).toString('latin1'));

    try {
      const stream = handle.createReadStream({ highWaterMark: 256 * 1024, start: 0 });
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        let rest: Buffer = chunk;
        while (!envelopeDone && rest.length > 0) {
          const lf = rest.indexOf(0x0a);
          const piece = lf < 0 ? rest : rest.subarray(0, lf + 1);
          line.push(piece);
          lineBytes += piece.length;
          rest = lf < 0 ? Buffer.alloc(0) : rest.subarray(lf + 1);
          if (lf < 0 && lineBytes <= MAX_ENVELOPE_LINE) break; // wait for the rest of the line
          const whole = Buffer.concat(line);
          line = [];
          lineBytes = 0;
          if (isEnvelopeLine(whole)) {
            if (lf < 0) failure = 'X-Sender/X-Receiver line too long';
            else envelopeLine(whole.toString('utf8').replace(/\r?\n$/, ''));
            if (failure) break;
            continue;
          }
          envelopeDone = true; // the first line that is not an envelope line starts the message
          if (!startMessage() || !(await message(whole))) break;
        }
        if (failure) break;
        if (envelopeDone && rest.length > 0 && !(await message(rest))) break;
      }
      if (!failure && !envelopeDone) {
        // the file ended inside or right after the envelope lines
        const tail = Buffer.concat(line);
        if (tail.length > 0 && isEnvelopeLine(tail)) envelopeLine(tail.toString('utf8'));
        else if (tail.length > 0 && startMessage()) await message(tail);
        if (!failure && !writer)
          failure = recipients.length ? 'no message after the X- lines' : 'no valid X-Receiver: line';
      }
    } catch (err) {
      failure = `cannot read: ${(err as Error).message}`;
    } finally {
      await handle.close().catch(() => undefined); // the stream may have closed it already
    }
    if (failure || !writer) {
      await writer?.discard().catch(() => undefined);
      return { ok: false, reason: failure ?? 'empty file' };
    }
    try {
      await writer.commit();
    } catch (err) {
      await writer.discard().catch(() => undefined);
      throw err; // a spool write failure is not the file's fault: leave it claimed for a retry
    }
    return { ok: true, recipients: recipients.length, size: writer.size, headerBytes: intake.headerBytes };
  }
}
