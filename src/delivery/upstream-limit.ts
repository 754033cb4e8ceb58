/**
 * An upstream's real recipient limit, learned from what it does. A strict upstream (Postfix with
 * `smtpd_recipient_limit = 1000`) answers 452 after its limit and, after a few of those, `421`
 * and closes before DATA (Postfix's `smtpd_hard_error_limit`). The pooled client then only sees
 * "connection closed" for the whole transaction, so nothing would ever be delivered: the same
 * batch is retried and refused the same way forever.
 *
 * When that happens, `probeLimit` sends the envelope once more, without DATA, on a connection of
 * its own where every RCPT reply is read: the number of recipients accepted before the first 452
 * is that upstream's limit. The caller then resends in batches of that size at once, and keeps to
 * it for later messages; every recipient's outcome then comes from a real transaction.
 */
import net from 'node:net';
import tls from 'node:tls';
import type SMTPConnection from 'nodemailer/lib/smtp-connection';

/** The connection settings the probe shares with the pooled transport. */
export type ProbeOptions = SMTPConnection.Options & { auth?: { user: string; pass: string } };

/**
 * The recipients accepted before the first 452, counted in the order they were sent; undefined
 * when there was no 452 or nothing was accepted before it.
 */
export function limitShown(
  batch: readonly string[],
  accepted: readonly string[],
  refused: readonly { address: string; code: number }[],
): number | undefined {
  const first452 = refused.find((r) => r.code === 452);
  if (!first452) return undefined;
  const position = batch.indexOf(first452.address);
  if (position <= 0) return undefined;
  const taken = new Set(accepted);
  let count = 0;
  for (let i = 0; i < position; i++) if (taken.has(batch[i]!)) count++;
  return count > 0 ? count : undefined;
}

/** Whether a failed pooled transaction looks like an upstream that gave up on too many RCPTs. */
export function closedBeforeData(err: {
  code?: string;
  response?: string;
  command?: string;
  message?: string;
  /** The system error's code under nodemailer's (e.g. EPIPE under ESOCKET). */
  originalCode?: string;
}): boolean {
  if (/^421[ -]/.test(err.response ?? '')) return true;
  // closed without a word after the envelope was sent
  if (err.code === 'ECONNECTION' && !err.response) return true;
  // closed (421 and a reset) while we were still writing a long pipelined run of RCPT: the write
  // fails with EPIPE or the read with ECONNRESET before the 421 is read (Postfix's "too many errors
  // after RCPT" under load). Only the probe tells whether it is a limit or an upstream going away.
  return (
    err.code === 'ESOCKET' &&
    !err.response &&
    /\b(?:EPIPE|ECONNRESET)\b/.test(`${err.originalCode ?? ''} ${err.message ?? ''}`)
  );
}

/** Reads SMTP replies off a socket as they arrive (all of them, even those that come with the close). */
class ReplyReader {
  private buffer = '';
  private lines: string[] = [];
  private waiting: (() => void) | undefined;
  closed = false;

  constructor(socket: net.Socket | tls.TLSSocket) {
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      this.buffer += d;
      let lf: number;
      while ((lf = this.buffer.indexOf('\n')) >= 0) {
        this.lines.push(this.buffer.slice(0, lf).replace(/\r$/, ''));
        this.buffer = this.buffer.slice(lf + 1);
      }
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }

  private wake(): void {
    const w = this.waiting;
    this.waiting = undefined;
    w?.();
  }

  /** The next complete reply (its code and last line), or undefined once the connection is gone. */
  async reply(): Promise<{ code: number; text: string } | undefined> {
    for (;;) {
      const end = this.lines.findIndex((l) => !/^\d{3}-/.test(l));
      if (end >= 0) {
        const last = this.lines[end]!;
        this.lines = this.lines.slice(end + 1);
        return { code: Number(last.slice(0, 3)) || 0, text: last };
      }
      if (this.closed) return undefined;
      await new Promise<void>((resolve) => (this.waiting = resolve));
    }
  }
}

/**
 * Sends the envelope once more, without DATA, on a connection of its own (STARTTLS and AUTH as the
 * URL says), and counts the RCPTs accepted before the first 452: the upstream's limit. nodemailer
 * cannot tell this: replies that arrive together with the upstream's close are dropped with the
 * connection. No message is sent, so the probe delivers nothing. undefined when no 452 came.
 */
export async function probeLimit(
  options: ProbeOptions,
  sender: string,
  batch: readonly string[],
): Promise<number | undefined> {
  const host = options.host ?? 'localhost';
  const port = Number(options.port ?? 25);
  const timeout = options.socketTimeout ?? 60_000;
  const tlsOptions = { servername: host, ...(options.tls as tls.ConnectionOptions | undefined) };
  let socket: net.Socket | tls.TLSSocket = options.secure
    ? tls.connect({ host, port, ...tlsOptions })
    : net.connect({ host, port });
  const sockets = [socket];
  const timer = setTimeout(() => sockets.forEach((s) => s.destroy()), timeout);
  try {
    let reader = new ReplyReader(socket);
    const command = async (line: string) => {
      socket.write(line + '\r\n');
      return reader.reply();
    };
    if ((await reader.reply())?.code !== 220) return undefined;
    const name = options.name ?? 'localhost';
    let ehlo = await command(`EHLO ${name}`);
    // the EHLO reply's lines are gone once read; ask for what matters by trying it
    if (ehlo?.code !== 250) return undefined;
    if (!options.secure && options.ignoreTLS !== true) {
      const starttls = await command('STARTTLS');
      if (starttls?.code === 220) {
        socket = tls.connect({ socket, ...tlsOptions });
        sockets.push(socket);
        reader = new ReplyReader(socket);
        ehlo = await command(`EHLO ${name}`);
        if (ehlo?.code !== 250) return undefined;
      }
    }
    if (options.auth) {
      const plain = Buffer.from(`\0${options.auth.user}\0${options.auth.pass}`).toString('base64');
      if ((await command(`AUTH PLAIN ${plain}`))?.code !== 235) return undefined;
    }
    if ((await command(`MAIL FROM:<${sender}>`))?.code !== 250) return undefined;
    // every RCPT at once: an upstream that closes after its error limit is read to the end anyway
    socket.write(batch.map((a) => `RCPT TO:<${a}>\r\n`).join(''));
    let accepted = 0;
    for (let i = 0; i < batch.length; i++) {
      const reply = await reader.reply();
      if (!reply) return undefined;
      if (reply.code === 452) return accepted > 0 ? accepted : undefined;
      if (reply.code === 250 || reply.code === 251) accepted++;
    }
    return undefined;
  } finally {
    clearTimeout(timer);
    for (const s of sockets) if (!s.destroyed) s.end('QUIT\r\n');
  }
}

/** The limit learned for one upstream, used for the batch size from then on. */
export class UpstreamLimit {
  learned: number | undefined;

  constructor(private readonly configured: number) {}

  get batchSize(): number {
    return Math.min(this.configured, this.learned ?? Infinity);
  }

  /** Takes a limit the upstream showed; a smaller one than known wins. */
  learn(limit: number | undefined): void {
    if (limit !== undefined && limit > 0 && limit < this.batchSize) this.learned = limit;
  }
}
