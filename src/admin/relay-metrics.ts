/**
 * Prometheus metrics (prom-client, a registry of the relay's own), fed by the event log and the
 * delivery queue's outcomes; spool depth is counted when scraped.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { DeliveryQueue } from '../delivery/delivery-queue.js';
import type { EventLog, RelayEvent } from '../events/event-log.js';
import { QUEUE_FOLDERS, type Spool } from '../spool/spool.js';

export class RelayMetrics {
  readonly registry = new Registry();
  private readonly accepted: Counter;
  private readonly refused: Counter<'reason'>;
  private readonly deliveries: Counter<'outcome'>;
  private readonly reports: Counter<'kind'>;
  private readonly events: Counter<'id' | 'type'>;

  constructor(spool: Spool, eventLog: EventLog, delivery: DeliveryQueue | undefined) {
    collectDefaultMetrics({ register: this.registry, prefix: 'ims_relay_' });
    this.accepted = new Counter({
      name: 'ims_relay_messages_accepted_total',
      help: 'Messages accepted over SMTP and from pickup/',
      registers: [this.registry],
    });
    this.refused = new Counter({
      name: 'ims_relay_smtp_refusals_total',
      help: 'SMTP refusals by reason: recipient_cap (each 452 after the limit), overshoot_close, header_limit, size_limit, bare_lf, write_failed, free_space_episode',
      labelNames: ['reason'],
      registers: [this.registry],
    });
    this.deliveries = new Counter({
      name: 'ims_relay_recipient_deliveries_total',
      help: 'Recipients of finished messages by outcome (delivered, failed) and delivery attempts that left recipients waiting (deferred)',
      labelNames: ['outcome'],
      registers: [this.registry],
    });
    this.reports = new Counter({
      name: 'ims_relay_reports_total',
      help: 'Delivery status reports queued, by kind',
      labelNames: ['kind'],
      registers: [this.registry],
    });
    this.events = new Counter({
      name: 'ims_relay_events_total',
      help: 'Events logged, by event ID',
      labelNames: ['id', 'type'],
      registers: [this.registry],
    });
    new Gauge({
      name: 'ims_relay_spool_messages',
      help: 'Entries in each spool folder',
      labelNames: ['folder'],
      registers: [this.registry],
      async collect() {
        for (const folder of QUEUE_FOLDERS) this.set({ folder }, (await spool.list(folder)).length);
      },
    });
    eventLog.subscribe((e) => this.onEvent(e));
    delivery?.subscribe((_id, outcome) => {
      if (outcome instanceof Error) return;
      if (outcome.kind === 'finished') {
        this.deliveries.inc({ outcome: 'delivered' }, outcome.delivered);
        this.deliveries.inc({ outcome: 'failed' }, outcome.failed);
      } else if (outcome.kind === 'retry' && outcome.pending > 0) {
        this.deliveries.inc({ outcome: 'deferred' }, outcome.pending);
      }
    });
  }

  private onEvent(e: RelayEvent): void {
    this.events.inc({ id: String(e.id), type: e.type });
    const data = e.data ?? {};
    switch (e.id) {
      case 1100:
      case 1110:
        this.accepted.inc();
        break;
      case 2100:
        this.refused.inc({ reason: 'recipient_cap' }, Number(data.refused) || 0);
        break;
      case 2101:
        this.refused.inc({ reason: 'overshoot_close' });
        break;
      case 2110:
        this.refused.inc({ reason: 'header_limit' });
        break;
      case 2111:
        this.refused.inc({ reason: 'size_limit' });
        break;
      case 2112:
        this.refused.inc({ reason: 'bare_lf' });
        break;
      case 2200:
        this.refused.inc({ reason: 'free_space_episode' });
        break;
      case 2210:
        this.refused.inc({ reason: 'write_failed' });
        break;
      case 4117:
        this.reports.inc({ kind: 'failure' }, Array.isArray(data.reports) ? data.reports.length : 0);
        break;
      case 1101:
        this.reports.inc({ kind: 'success' }, Array.isArray(data.reports) ? data.reports.length : 0);
        break;
    }
  }
}
