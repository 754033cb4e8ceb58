/**
 * AUTH that cannot be brute-forced: Postfix's practice for SMTP errors applied to AUTH failures.
 *
 * - every failed AUTH is answered only after `failureDelayMs` (smtpd_error_sleep_time);
 * - the `maxFailures`-th failure on one connection is answered 421 and the connection closed
 *   (smtpd_hard_error_limit);
 * - an address with `maxFailuresPerAddress` failures within `windowMs` gets 421 at AUTH — without a
 *   password check — until its oldest failure leaves the window (what anvil/postscreen or
 *   fail2ban do for Postfix).
 *
 * The password check itself is PasswordVerifier's (user-store.ts): off the event loop, the same
 * work for unknown users.
 */
import type { PasswordVerifier } from './user-store.js';

export interface AuthLimits {
  failureDelayMs: number;
  maxFailures: number;
  maxFailuresPerAddress: number;
  windowMs: number;
}

export type AuthOutcome =
  | { ok: true; user: string }
  | { ok: false; why: 'wrong'; failures: number }
  | { ok: false; why: 'connection-limit'; failures: number }
  | { ok: false; why: 'address-limit'; failures: number };

/** Addresses tracked before expired ones are swept out of the map. */
const SWEEP_AT = 10_000;

export class AuthThrottle {
  /** Failure times per client address, oldest first, at most maxFailuresPerAddress of them. */
  private readonly byAddress = new Map<string, number[]>();
  /** Failures per connection (keyed by its session object). */
  private readonly byConnection = new WeakMap<object, number>();

  constructor(
    private readonly verifier: PasswordVerifier,
    readonly limits: AuthLimits,
    private readonly now: () => number = Date.now,
  ) {}

  /** Recent failures of an address (within the window). */
  recentFailures(address: string): number {
    return this.recent(address).length;
  }

  private recent(address: string): number[] {
    const times = this.byAddress.get(address);
    if (!times) return [];
    const from = this.now() - this.limits.windowMs;
    while (times.length > 0 && times[0]! <= from) times.shift();
    if (times.length === 0) this.byAddress.delete(address);
    return times;
  }

  private recordFailure(address: string): void {
    const times = this.recent(address);
    times.push(this.now());
    if (times.length > this.limits.maxFailuresPerAddress) times.shift();
    this.byAddress.set(address, times);
    if (this.byAddress.size > SWEEP_AT) for (const a of [...this.byAddress.keys()]) this.recent(a);
  }

  /** Checks one AUTH attempt; resolves after the error sleep when it failed. */
  async attempt(
    connection: object,
    address: string,
    username: string,
    password: string,
  ): Promise<AuthOutcome> {
    const before = this.byConnection.get(connection) ?? 0;
    if (this.recent(address).length >= this.limits.maxFailuresPerAddress) {
      await this.sleep();
      return { ok: false, why: 'address-limit', failures: before };
    }
    if (await this.verifier.verify(username, password)) return { ok: true, user: username };
    const failures = before + 1;
    this.byConnection.set(connection, failures);
    this.recordFailure(address);
    await this.sleep();
    return failures >= this.limits.maxFailures
      ? { ok: false, why: 'connection-limit', failures }
      : { ok: false, why: 'wrong', failures };
  }

  private sleep(): Promise<void> {
    const ms = this.limits.failureDelayMs;
    return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
  }
}
