/**
 * When to try again: exponential back-off from `initial`, doubling with each attempt up to `max`
 * (defaults 5 minutes doubling to 67 minutes: 5, 10, 20, 40, 67, 67 … minutes), until the message
 * has been in the queue for `lifetime` (default 5 days); then its pending recipients fail (4.4.7).
 */
export interface RetryPolicy {
  initial: number;
  max: number;
  lifetime: number;
}

/** Delay before attempt `attempt + 1`, after `attempt` attempts (1-based). */
export function retryDelay(policy: RetryPolicy, attempt: number): number {
  return Math.min(policy.max, policy.initial * 2 ** Math.max(0, Math.min(attempt - 1, 40)));
}

export function isExpired(policy: RetryPolicy, arrivedAt: Date, now: Date): boolean {
  return now.getTime() - arrivedAt.getTime() >= policy.lifetime;
}

/** The next attempt time, or undefined when it would fall after the message's lifetime. */
export function nextAttemptAt(policy: RetryPolicy, arrivedAt: Date, attempt: number, now: Date): Date {
  const next = now.getTime() + retryDelay(policy, attempt);
  const end = arrivedAt.getTime() + policy.lifetime;
  // one last attempt at the end of the lifetime, so a message is never kept past it
  return new Date(Math.min(next, Math.max(end, now.getTime())));
}
