/**
 * The SMTP side's resource bounds beyond smtp-server's own (maxClients, size, idle timeout):
 *
 * - connections per client address (`--max-connections-per-ip`): one slow or greedy address
 *   cannot take every slot of `--max-clients`;
 * - a transaction deadline (`--transaction-timeout`): from MAIL FROM to the end of DATA, however
 *   steadily the client trickles bytes (the idle timeout restarts with every byte: 1 byte / 5 s
 *   held a slot for good);
 * - recipients held in open transactions across the relay (`--max-held-recipients`): each costs
 *   some 300 bytes until its transaction ends, so 200 connections x 32,766 recipients took RSS from
 *   71 MB to 1.85 GB; past the bound a new RCPT gets 452 4.3.1 "try later" (the sender resends the
 *   rest, as after the recipient cap).
 *
 * Per-connection state is keyed by smtp-server's session object; the listener calls in at connect,
 * MAIL, RCPT, end of DATA and close. Pure bookkeeping plus one timer per open transaction.
 */
export interface ConnectionLimitSettings {
  maxConnectionsPerIp: number;
  transactionTimeout: number;
  maxHeldRecipients: number;
}

export type LimitName = 'connections-per-ip' | 'transaction-time' | 'recipients-held';

interface ConnectionState {
  address: string;
  held: number;
  deadline: NodeJS.Timeout | undefined;
}

/** A limit is reported at most this often per limit and address. */
const REPORT_EVERY_MS = 60_000;

export class ConnectionLimits {
  private readonly perAddress = new Map<string, number>();
  private readonly connections = new WeakMap<object, ConnectionState>();
  private held = 0;
  private readonly reported = new Map<string, number>();

  constructor(
    private readonly settings: ConnectionLimitSettings,
    private readonly onLimited: (limit: LimitName, client: string, value: number) => void = () => undefined,
  ) {}

  /** Recipients held in open transactions across all connections. */
  get heldRecipients(): number {
    return this.held;
  }

  /** Open connections from an address. */
  connectionsFrom(address: string): number {
    return this.perAddress.get(address) ?? 0;
  }

  /** At connect: false (nothing counted) when the address already has its maximum. */
  admit(session: object, address: string): boolean {
    const open = this.perAddress.get(address) ?? 0;
    if (open >= this.settings.maxConnectionsPerIp) {
      this.report('connections-per-ip', address, this.settings.maxConnectionsPerIp);
      return false;
    }
    this.perAddress.set(address, open + 1);
    this.connections.set(session, { address, held: 0, deadline: undefined });
    return true;
  }

  /** At close: the connection's slot, its held recipients and its deadline are released. */
  release(session: object): void {
    const state = this.connections.get(session);
    if (!state) return;
    this.connections.delete(session);
    this.endTransaction(session, state);
    const open = (this.perAddress.get(state.address) ?? 1) - 1;
    if (open > 0) this.perAddress.set(state.address, open);
    else this.perAddress.delete(state.address);
  }

  /** At MAIL FROM: ends the previous transaction and starts the deadline of this one. */
  startTransaction(session: object, expire: () => void): void {
    const state = this.connections.get(session);
    if (!state) return;
    this.endTransaction(session, state);
    state.deadline = setTimeout(() => {
      state.deadline = undefined;
      this.report('transaction-time', state.address, this.settings.transactionTimeout);
      expire();
    }, this.settings.transactionTimeout);
    state.deadline.unref();
  }

  /** The message data is in (or the transaction is over): the deadline no longer applies. */
  dataEnded(session: object): void {
    const state = this.connections.get(session);
    if (state?.deadline) clearTimeout(state.deadline);
    if (state) state.deadline = undefined;
  }

  /** At the end of DATA, a new MAIL, or close: the transaction's recipients are released. */
  endTransaction(session: object, state = this.connections.get(session)): void {
    if (!state) return;
    this.dataEnded(session);
    this.held -= state.held;
    state.held = 0;
  }

  /**
   * Before a RCPT is accepted, with the number of recipients the transaction has so far (RSET or
   * a new EHLO may have dropped some): true and counted, or false when the relay holds its maximum.
   */
  mayAddRecipient(session: object, current: number): boolean {
    const state = this.connections.get(session);
    if (!state) return true;
    this.held += current - state.held;
    state.held = current;
    if (this.held >= this.settings.maxHeldRecipients) {
      this.report('recipients-held', state.address, this.settings.maxHeldRecipients);
      return false;
    }
    this.held++;
    state.held++;
    return true;
  }

  private report(limit: LimitName, client: string, value: number): void {
    const key = `${limit} ${client}`;
    const now = Date.now();
    if ((this.reported.get(key) ?? -Infinity) > now - REPORT_EVERY_MS) return;
    if (this.reported.size > 10_000) this.reported.clear();
    this.reported.set(key, now);
    this.onLimited(limit, client, value);
  }
}
