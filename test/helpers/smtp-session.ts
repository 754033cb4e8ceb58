import net from 'node:net';

/**
 * A raw SMTP client for transcripts, typed the way a person does at a telnet prompt: one line at a
 * time, waiting for the complete (possibly multi-line) reply before the next.
 */
export class SmtpSession {
  private buffer = '';
  private waiters: (() => void)[] = [];
  readonly transcript: string[] = [];
  closed = false;

  private constructor(private readonly socket: net.Socket) {
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      this.buffer += d;
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }

  private wake() {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  static connect(port: number, host = '127.0.0.1'): Promise<SmtpSession> {
    return SmtpSession.open(net.connect(port, host));
  }

  /** Connects, reads the greeting and says EHLO: ready for a transaction. */
  static async ready(port: number, helo = 'client.test'): Promise<SmtpSession> {
    const s = await SmtpSession.connect(port);
    await s.reply();
    await s.cmd(`EHLO ${helo}`);
    return s;
  }

  /**
   * One transaction: MAIL FROM, a RCPT TO for each recipient (with optional parameters after the
   * address), DATA and the message (CRLF line ends, without the final dot). Resolves with the
   * reply to the final dot.
   */
  async submit(from: string, to: string[], message: string): Promise<string> {
    await this.cmd(`MAIL FROM:${from}`);
    for (const r of to) await this.cmd(`RCPT TO:${r}`);
    await this.cmd('DATA');
    return this.cmd(`${message}\r\n.`);
  }

  /** Connects from a given local address (any of 127.0.0.0/8 works on loopback). */
  static connectFrom(port: number, localAddress: string): Promise<SmtpSession> {
    return SmtpSession.open(net.connect({ port, host: '127.0.0.1', localAddress }));
  }

  private static async open(socket: net.Socket): Promise<SmtpSession> {
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new SmtpSession(socket);
  }

  /** Reads one complete reply (all its lines), e.g. `250-a\r\n250 b`. */
  async reply(timeoutMs = 10_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = /^(?:\d{3}-[^\n]*\n)*\d{3}(?: [^\n]*)?\r?\n/.exec(this.buffer);
      if (m) {
        this.buffer = this.buffer.slice(m[0].length);
        const text = m[0].replace(/\r?\n$/, '').replace(/\r\n/g, '\n');
        this.transcript.push('S: ' + text);
        return text;
      }
      if (this.closed) return '';
      if (Date.now() > deadline)
        throw new Error(`no reply within ${timeoutMs} ms; have ${JSON.stringify(this.buffer)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Sends raw bytes (no line end added). */
  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** Sends a command line (with `eol`, CRLF by default) and returns its reply. */
  async cmd(line: string, eol = '\r\n'): Promise<string> {
    this.transcript.push('C: ' + line);
    this.socket.write(line + eol);
    return this.reply();
  }

  close(): void {
    this.socket.destroy();
  }
}
