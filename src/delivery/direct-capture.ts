/**
 * Capture mode's direct path: a message received over SMTP whose recipients all end simply
 * captured is stored in the message store at the final dot, before the 250, instead of being
 * written to the spool, read back by the delivery agent, journaled and removed. The message is as
 * durable when the client hears 250 as on the queued path (its file and the store's folders are
 * fsynced, the index committed), and the store is the only copy, as it is after a queued delivery.
 *
 * A message takes the queued path when anything but a plain capture is owed for it:
 *   - a failure rule (`--fail`, or set over the admin API) matches one of its recipients: that
 *     recipient fails or is deferred, and an NDR or a retry is owed;
 *   - a recipient asked for a success report (NOTIFY=SUCCESS);
 *   - `--archive` keeps delivered messages in archive/, `--maildir` writes a Maildir per recipient
 *     beside the store, or a test hook wants the delivery agent to see the message.
 * A direct capture that fails (a full disk, a store that cannot be written) sends the message to
 * the spool after all, where the delivery agent retries it with the usual 4.3.x outcomes.
 */
import type { EventLog } from '../events/event-log.js';
import type { Envelope } from '../message/envelope.js';
import { matchFailureRule, type FailureRule } from '../config/failure-rules.js';
import type { MessageStore } from '../store/message-store.js';

export interface DirectCaptureSettings {
  /** Read for each message, so rules set while the relay runs are obeyed. */
  failureRules: () => readonly FailureRule[];
}

export class DirectCapture {
  constructor(
    private readonly store: MessageStore,
    private readonly events: EventLog,
    private readonly settings: DirectCaptureSettings,
  ) {}

  accepts(envelope: Envelope): boolean {
    const rules = this.settings.failureRules();
    for (const r of envelope.recipients) {
      if (r.notify?.includes('SUCCESS')) return false;
      if (rules.length > 0 && matchFailureRule(rules, r.address)) return false;
    }
    return envelope.recipients.length > 0;
  }

  async capture(envelope: Envelope, message: Buffer): Promise<{ ok: true } | { ok: false; error: Error }> {
    // distinct recipients, compared case-insensitively, as the delivery agent hands them over
    const seen = new Set<string>();
    const recipients: string[] = [];
    for (const r of envelope.recipients) {
      const key = r.address.toLowerCase();
      if (seen.has(key)) continue;
      seen.add(key);
      recipients.push(r.address);
    }
    const result = await this.store.capture({
      queueId: envelope.queueId,
      sender: envelope.sender,
      recipients,
      message,
      fresh: true,
    });
    return result.ok ? { ok: true } : { ok: false, error: result.error };
  }

  delivered(envelope: Envelope): void {
    this.events.emit('messageDelivered', {
      queueId: envelope.queueId,
      data: { delivered: envelope.recipients.length, reports: [], direct: true },
    });
  }
}
