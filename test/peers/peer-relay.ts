/**
 * What the peers' suite shares: a relay on the default settings (recipient cap 32,766, no
 * overshoot disconnect, no header limit) and addresses by the ten thousand.
 */
import { startTestRelay, type TestRelay } from '../helpers/test-relay.js';

export const CAP = 32_766;
export const CAP_REPLY = '452 Requested action not taken: Exceed Recipient Limit';

export const addresses = (n: number, domain = 'example.test'): string[] =>
  Array.from({ length: n }, (_, i) => `user${i}@${domain}`);

/**
 * A relay with every SMTP setting at its default. Hold mode keeps each accepted message in in/,
 * where its envelope shows who it is for (capture mode would make 32,766 Maildirs per message;
 * the capture path at that scale is what the bench and test/ndr-cap.test.ts exercise).
 */
export function defaultRelay(): Promise<TestRelay> {
  return startTestRelay({ mode: 'hold' });
}

/** The recipients of every message the relay holds, in arrival order. */
export function heldRecipients(relay: TestRelay): string[][] {
  return relay.entries().map((e) => e.envelope.recipients.map((r) => r.address));
}
