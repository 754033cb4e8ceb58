/**
 * Capture mode's delivery target: the message store (one file and index rows per message), and,
 * with `--maildir DIR`, a Maildir per recipient besides (LF line ends, `Return-Path:` and
 * `Delivered-To:` lines, one hard-linked file per capture). A message's recipients are captured in
 * one batch (one file per message), recorded when the store and the Maildir links are durable.
 */
import { traceHeader } from '../store/message-file.js';
import type { MessageStore } from '../store/message-store.js';
import type { RecipientAttempt } from './delivery-result.js';
import type { MaildirStore } from './maildir-store.js';
import type { Target, TargetDelivery, TargetProgress } from './target.js';

function localFailure(address: string, err: Error): RecipientAttempt {
  const code = (err as NodeJS.ErrnoException).code;
  return {
    kind: 'temporary',
    address,
    status: code === 'ENOSPC' || code === 'EDQUOT' || code === 'SQLITE_FULL' ? '4.3.1' : '4.3.0',
    diagnostic: `local delivery failed: ${err.message}`,
  };
}

/** A Maildir file name (unique per the Maildir convention; `/` and `:` written as the spec says). */
function maildirName(capturedAt: number, id: string, hostname: string): string {
  const host = hostname.replace(/\//g, '\\057').replace(/:/g, '\\072');
  return `${Math.floor(capturedAt / 1000)}.${id.replace('.', '_')}.${host}`;
}

/** CRLF → LF, the Maildir convention. */
function toLf(bytes: Buffer): Buffer {
  return Buffer.from(bytes.toString('latin1').replace(/\r\n/g, '\n'), 'latin1');
}

export class StoreTarget implements Target {
  readonly doneAction = 'delivered';

  constructor(
    private readonly store: MessageStore,
    private readonly maildir: MaildirStore | undefined,
    private readonly hostname: string,
  ) {}

  async deliver(d: TargetDelivery, progress: TargetProgress): Promise<void> {
    if (progress.stopping()) return;
    // a kill during a long capture is told from a poison message by the lone attempt's alive marks
    const attempts = await this.capture(d, () => {
      progress.linked?.(d.addresses.length);
      progress.waitingForDisk?.();
    });
    await progress.record(attempts);
  }

  /** One outcome per address; `beforeDurableWait` is called when only the disk is left to wait for. */
  private async capture(d: TargetDelivery, beforeDurableWait: () => void): Promise<RecipientAttempt[]> {
    const result = await this.store.capture({
      queueId: d.queueId,
      sender: d.sender,
      recipients: d.addresses,
      message: d.message,
    });
    if (!result.ok) return d.addresses.map((a) => localFailure(a, result.error));
    const outcome = (address: string): RecipientAttempt => {
      const c = result.captures.get(address.toLowerCase());
      return c
        ? { kind: 'delivered', address, status: '2.0.0', diagnostic: `captured as ${c.id}` }
        : localFailure(address, new Error('not captured'));
    };
    if (!this.maildir) {
      beforeDurableWait();
      return d.addresses.map(outcome);
    }
    // the Maildir copies: one file per capture, linked into each of its recipients' Maildirs
    const byCapture = new Map<string, { capturedAt: number; addresses: string[] }>();
    for (const a of d.addresses) {
      const c = result.captures.get(a.toLowerCase());
      if (!c) continue;
      const group = byCapture.get(c.id) ?? { capturedAt: c.capturedAt, addresses: [] };
      group.addresses.push(a);
      byCapture.set(c.id, group);
    }
    const exported = new Map<string, RecipientAttempt>();
    let n = 0;
    for (const [id, group] of byCapture) {
      const bytes = Buffer.from(traceHeader(d.sender, group.addresses, '\n'), 'utf8');
      const last = ++n === byCapture.size;
      const done = await this.maildir.deliver(
        id,
        new Date(group.capturedAt),
        Buffer.concat([bytes, toLf(d.message)]),
        group.addresses,
        last ? beforeDurableWait : undefined,
        maildirName(group.capturedAt, id, this.hostname),
      );
      for (const r of done)
        exported.set(r.address.toLowerCase(), r.kind === 'delivered' ? outcome(r.address) : r);
    }
    return d.addresses.map((a) => exported.get(a.toLowerCase()) ?? outcome(a));
  }

  /** Closes the Maildir side; the store is closed by its owner (the admin API reads it too). */
  async close(): Promise<void> {
    await this.maildir?.close();
  }
}
