/**
 * The PROXY protocol gate in front of SMTP (`--proxy-protocol-from`): a connection from one of the
 * listed networks (the load balancers) must start with a PROXY header, v1 or v2, before it is
 * greeted; the address in it becomes the session's client address — what the relay policy,
 * Received:, events, metrics and rules see. A missing or malformed header gets `421` and the
 * connection is closed: after HEADER_TIMEOUT_MS when nothing complete arrives, at once when what
 * arrived is not a header. Connections from anywhere else are not gated, and a PROXY line from
 * them is just an unknown command: it is never believed.
 */
import net from 'node:net';
import { parseCidr } from '../config/cidr.js';
import { parseProxyHeader } from './proxy-header.js';

/** How long a balancer's connection may take to send its header. */
export const HEADER_TIMEOUT_MS = 5000;
/** How long the 421 gets to reach the client before the socket is destroyed. */
const CLOSE_LINGER_MS = 500;

export type GateOutcome =
  { ok: true; source?: { address: string; port: number } } | { ok: false; reason: string };

export class ProxyGate {
  private readonly balancers = new net.BlockList();

  constructor(
    cidrs: readonly string[],
    private readonly hostname: string,
    private readonly timeoutMs = HEADER_TIMEOUT_MS,
  ) {
    for (const cidr of cidrs) {
      const parsed = parseCidr(cidr);
      if (typeof parsed !== 'string') this.balancers.addSubnet(parsed.address, parsed.prefix, parsed.family);
    }
  }

  /** Whether a connection from `address` must start with a PROXY header. */
  expects(address: string | undefined): boolean {
    const plain = (address ?? '').replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '');
    const family = net.isIP(plain);
    if (family === 0) return false;
    return this.balancers.check(plain, family === 4 ? 'ipv4' : 'ipv6');
  }

  /**
   * Reads the header off the socket, leaving what follows it unread. On failure the client gets
   * 421 and the socket is closed.
   */
  read(socket: net.Socket): Promise<GateOutcome> {
    return new Promise((resolve) => {
      let buffered: Buffer = Buffer.alloc(0);
      let finished = false;
      const finish = (outcome: GateOutcome) => {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        socket.off('readable', onReadable);
        socket.off('end', onEnd);
        socket.off('close', onEnd);
        socket.off('error', onEnd);
        if (!outcome.ok) {
          socket.on('error', () => undefined);
          if (!socket.destroyed && socket.writable)
            socket.end(`421 4.7.0 ${this.hostname} ${outcome.reason}; closing connection\r\n`);
          setTimeout(() => socket.destroy(), CLOSE_LINGER_MS).unref();
        }
        resolve(outcome);
      };
      const onReadable = () => {
        let chunk: Buffer | null;
        while (!finished && (chunk = socket.read() as Buffer | null) !== null) {
          buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
          const header = parseProxyHeader(buffered);
          if (header.kind === 'incomplete') continue;
          if (header.kind === 'invalid') return finish({ ok: false, reason: header.reason });
          const rest = buffered.subarray(header.length);
          if (rest.length > 0) socket.unshift(rest);
          return finish({ ok: true, ...(header.source ? { source: header.source } : {}) });
        }
      };
      const onEnd = () => finish({ ok: false, reason: 'the connection ended before its PROXY header' });
      const timer = setTimeout(
        () => finish({ ok: false, reason: `no PROXY protocol header within ${this.timeoutMs / 1000} s` }),
        this.timeoutMs,
      );
      timer.unref();
      socket.on('readable', onReadable);
      socket.once('end', onEnd);
      socket.once('close', onEnd);
      socket.once('error', onEnd);
      onReadable();
    });
  }
}
