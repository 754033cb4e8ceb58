import type net from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface SinkMessage {
  from: string;
  to: string[];
  data: string;
  /** The relay's queue ID, from the `id …` of the first Received: line. */
  queueId: string | undefined;
}

/**
 * A real SMTP upstream on loopback that holds each message `holdMs` (a number, or one per message
 * text) after its final dot before it answers 250 — a slow next hop, so that deliveries stay in flight long enough to be killed or
 * stopped in the middle. A message counts as accepted only when its 250 is sent: when the client
 * is gone before that (the relay was killed while the upstream held its DATA), it is dropped, as a
 * server that commits at the moment it replies does. `pause()` keeps every held message from being
 * answered until `resume()`, so that a test can kill the relay at a moment when no 250 is on its way.
 */
export class SlowUpstream {
  readonly accepted: SinkMessage[] = [];
  /** Messages whose DATA is held right now. */
  held = 0;
  /** Messages ever held (DATA received). */
  heldTotal = 0;
  /** The text of every message held so far, in the order its DATA ended. */
  readonly seen: string[] = [];
  /** Held messages dropped because their client went away before the reply. */
  dropped = 0;
  private paused = false;
  private waiting: (() => void)[] = [];
  private readonly server: SMTPServer;
  port = 0;

  constructor(private readonly holdMs: number | ((message: string) => number)) {
    this.server = new SMTPServer({
      logger: false,
      authOptional: true,
      disabledCommands: ['STARTTLS', 'AUTH'],
      hideSTARTTLS: true,
      disableReverseLookup: true,
      size: 0,
      onData: (stream, session, callback) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          this.held++;
          this.heldTotal++;
          const text = Buffer.concat(chunks).toString('utf8');
          this.seen.push(text);
          const holdMs = typeof this.holdMs === 'number' ? this.holdMs : this.holdMs(text);
          const to = session.envelope.rcptTo.map((r) => r.address);
          const from = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
          void (async () => {
            await new Promise((r) => setTimeout(r, holdMs));
            while (this.paused) await new Promise<void>((r) => this.waiting.push(r));
            this.held--;
            // smtp-server forgets a connection as soon as its socket closes
            if (![...this.server.connections].some((c) => c.session === session)) {
              this.dropped++;
              return;
            }
            const data = Buffer.concat(chunks).toString('utf8');
            this.accepted.push({
              from,
              to,
              data,
              queueId: / id ([^\s;]+)/.exec(data.split('\r\n\r\n')[0]!)?.[1],
            });
            callback(null, 'queued');
          })();
        });
      },
    });
  }

  /** Client connections open now. */
  get sessions(): number {
    return this.server.connections.size;
  }

  async start(): Promise<number> {
    this.server.on('error', () => undefined); // a relay killed mid-dialogue resets its connections
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.server.address() as net.AddressInfo).port;
    return this.port;
  }

  /** No held message is answered until resume(). */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    for (const wake of this.waiting.splice(0)) wake();
  }

  async stop(): Promise<void> {
    this.resume();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** How many times each recipient of a queue ID was accepted. */
  copies(queueId: string): Map<string, number> {
    const counts = new Map<string, number>();
    for (const m of this.accepted)
      if (m.queueId === queueId) for (const r of m.to) counts.set(r, (counts.get(r) ?? 0) + 1);
    return counts;
  }
}
