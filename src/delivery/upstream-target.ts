/**
 * Relay mode's target: the upstream (upstream-client.ts), one transaction per batch of at most its
 * recipient limit, each transaction's outcomes recorded before the next; an unreachable upstream
 * is reported once per outage (outage-tracker.ts).
 */
import type { OutageTracker } from './outage-tracker.js';
import type { Target, TargetDelivery, TargetProgress } from './target.js';
import type { UpstreamClient } from './upstream-client.js';

export class UpstreamTarget implements Target {
  readonly doneAction = 'relayed';

  constructor(
    readonly client: UpstreamClient,
    private readonly outage: OutageTracker,
  ) {}

  async deliver(d: TargetDelivery, progress: TargetProgress): Promise<void> {
    const sent = await this.client.send(d.sender, d.addresses, d.message, progress.record, progress.stopping);
    this.outage.report(sent.reachable);
  }

  async close(): Promise<void> {
    this.client.close();
  }
}
