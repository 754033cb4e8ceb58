import type net from 'node:net';
import { SMTPServer, type SMTPServerAddress } from 'smtp-server';

export interface UpstreamMessage {
  from: string;
  to: string[];
  data: string;
}

/** What the upstream answers: per RCPT (given its position in the transaction), and after DATA. */
export interface UpstreamScript {
  rcpt?: (
    address: string,
    position: number,
    transaction: number,
  ) => { code: number; message: string } | undefined;
  data?: (message: UpstreamMessage, transaction: number) => { code: number; message: string } | undefined;
  /**
   * Misbehaviour at DATA (transactions counted from 1): 'reset' cuts every connection while the
   * message streams in; 'stall' reads the message and never answers the final dot.
   */
  misbehave?: (transaction: number) => 'reset' | 'stall' | undefined;
}

/** A second SMTP server on loopback that answers as scripted and records what it accepted. */
export class ScriptedUpstream {
  readonly received: UpstreamMessage[] = [];
  /** Every transaction that reached DATA, accepted or not. */
  transactions = 0;
  /** Every DATA command, including the ones it misbehaved on. */
  private dataCommands = 0;
  private server: SMTPServer;
  port = 0;

  /** Whether each accepted message came over TLS, and as which user. */
  readonly sessions: { secure: boolean; user?: string }[] = [];

  constructor(
    public script: UpstreamScript = {},
    options: { auth?: { user: string; pass: string }; starttls?: boolean } = {},
  ) {
    this.server = new SMTPServer({
      logger: false,
      authOptional: !options.auth,
      allowInsecureAuth: true,
      disabledCommands: [...(options.starttls ? [] : ['STARTTLS']), ...(options.auth ? [] : ['AUTH'])],
      hideSTARTTLS: !options.starttls,
      disableReverseLookup: true,
      onAuth: (auth, _session, callback) => {
        if (options.auth && auth.username === options.auth.user && auth.password === options.auth.pass) {
          return callback(null, { user: auth.username });
        }
        callback(Object.assign(new Error('Invalid credentials'), { responseCode: 535 }));
      },
      onRcptTo: (address: SMTPServerAddress, session, callback) => {
        const verdict = this.script.rcpt?.(
          address.address,
          session.envelope.rcptTo.length + 1,
          this.transactions + 1,
        );
        if (verdict)
          return callback(Object.assign(new Error(verdict.message), { responseCode: verdict.code }));
        callback();
      },
      onData: (stream, session, callback) => {
        const misbehaviour = this.script.misbehave?.(++this.dataCommands);
        if (misbehaviour === 'reset') {
          for (const connection of this.server.connections) connection.close();
          stream.resume();
          return;
        }
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          if (misbehaviour === 'stall') return;
          this.transactions++;
          const message = {
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
            data: Buffer.concat(chunks).toString('utf8'),
          };
          const verdict = this.script.data?.(message, this.transactions);
          if (verdict)
            return callback(Object.assign(new Error(verdict.message), { responseCode: verdict.code }));
          this.received.push(message);
          this.sessions.push({
            secure: session.secure,
            ...(session.user ? { user: String(session.user) } : {}),
          });
          callback(null, 'queued');
        });
      },
    });
  }

  async start(port = 0): Promise<number> {
    // a client that goes away in the middle of a session (a relay killed on purpose) is no error here
    this.server.on('error', () => undefined);
    await new Promise<void>((resolve) => this.server.listen(port, '127.0.0.1', resolve));
    this.port = (this.server.server.address() as net.AddressInfo).port;
    return this.port;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Recipients accepted in all transactions. */
  get delivered(): string[] {
    return this.received.flatMap((m) => m.to);
  }
}
