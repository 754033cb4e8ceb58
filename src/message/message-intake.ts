/**
 * Checks a message while it streams in, without buffering it: counts the header block (against its
 * opt-in limit, Q193639; 0 = none), counts the size, and handles bare LF line ends (stored as CRLF,
 * or refused).
 * `process` returns the bytes to store, or nothing once the message is refused; the caller keeps
 * reading to the end of DATA either way, so the client gets its reply after the final dot.
 */
export type IntakeRefusal = 'header' | 'size' | 'bareLf';

export interface IntakeLimits {
  /** 0: no limit of its own (the header block is counted all the same). */
  maxHeaderBytes: number;
  maxMessageSize: number;
  bareLf: 'normalize' | 'reject';
}

const LF = 0x0a;
const CR = 0x0d;
const CRLF = Buffer.from('\r\n');

/**
 * A header block over this many bytes is stored, with an information event: an Exchange 5.5 IMS
 * before SP2 stopped (event 4116) on a message whose properties totalled more than 32 KB (Q193639).
 */
export const IMS_HEADER_WARNING_BYTES = 32 * 1024;

export class MessageIntake {
  /** Why the message is refused, once it is. */
  refusal: IntakeRefusal | undefined;
  /** Bytes received (before normalization). */
  receivedBytes = 0;
  /** Bytes of the header block seen so far (the fields with their line ends, not the blank line). */
  headerBytes = 0;
  private inHeader = true;
  /** Bytes of the current header line so far, without its line end. */
  private lineBytes = 0;
  /** Whether the current header line so far is just a CR (i.e. may be the blank line). */
  private lineIsCr = false;
  private lastByte = -1;

  constructor(private readonly limits: IntakeLimits) {}

  process(chunk: Buffer): Buffer | undefined {
    if (this.refusal) return undefined;
    this.receivedBytes += chunk.length;
    if (this.receivedBytes > this.limits.maxMessageSize) return this.refuse('size');
    if (this.inHeader && !this.scanHeader(chunk)) return undefined;
    return this.lineEnds(chunk);
  }

  private refuse(reason: IntakeRefusal): undefined {
    this.refusal = reason;
    return undefined;
  }

  private overHeaderLimit(): false {
    this.refusal = 'header';
    return false;
  }

  /** Advances the header count over `chunk`; false once the header block is over the limit. */
  private scanHeader(chunk: Buffer): boolean {
    const limit = this.limits.maxHeaderBytes || Infinity;
    let start = 0;
    while (this.inHeader && start < chunk.length) {
      const lf = chunk.indexOf(LF, start);
      const end = lf < 0 ? chunk.length : lf;
      const piece = end - start;
      if (piece > 0) {
        this.lineIsCr = this.lineBytes === 0 && piece === 1 && chunk[start] === CR;
        this.lineBytes += piece;
      }
      if (lf < 0) {
        if (this.headerBytes + this.lineBytes > limit) return this.overHeaderLimit();
        return true;
      }
      if (this.lineBytes === 0 || (this.lineBytes === 1 && this.lineIsCr)) {
        this.inHeader = false; // the blank line: the header block is over
      } else {
        this.headerBytes += this.lineBytes + 1;
        if (this.headerBytes > limit) return this.overHeaderLimit();
      }
      this.lineBytes = 0;
      this.lineIsCr = false;
      start = lf + 1;
    }
    return true;
  }

  /** Returns `chunk` with bare LF turned into CRLF (or refuses it), keeping CRLF as it is. */
  private lineEnds(chunk: Buffer): Buffer | undefined {
    let pieces: Buffer[] | undefined;
    let from = 0;
    for (let lf = chunk.indexOf(LF); lf >= 0; lf = chunk.indexOf(LF, lf + 1)) {
      const before = lf > 0 ? chunk[lf - 1] : this.lastByte;
      if (before === CR) continue;
      if (this.limits.bareLf === 'reject') return this.refuse('bareLf');
      (pieces ??= []).push(chunk.subarray(from, lf), CRLF);
      from = lf + 1;
    }
    this.lastByte = chunk.length > 0 ? chunk[chunk.length - 1]! : this.lastByte;
    if (!pieces) return chunk;
    pieces.push(chunk.subarray(from));
    return Buffer.concat(pieces);
  }
}
