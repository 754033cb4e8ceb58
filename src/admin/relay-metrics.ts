/**
 * Prometheus metrics. Counting starts with the relay (from the event log and the delivery queue's
 * outcomes, in plain counters); prom-client is loaded and its registry built on the first scrape,
 * so a relay that is never scraped does not carry it. Spool depth is counted when scraped.
 */
import type { DeliveryQueue } from '../delivery/delivery-queue.js';
import type { EventLog, RelayEvent } from '../events/event-log.js';
import { QUEUE_FOLDERS, type Spool } from '../spool/spool.js';
import type { Registry } from 'prom-client';

type Labels = Record<string, string>;

interface CounterSpec {
  name: string;
  help: string;
  labelNames: string[];
}

const COUNTERS: CounterSpec[] = [
  {
    name: 'ims_relay_messages_accepted_total',
    help: 'Messages accepted over SMTP and from pickup/',
    labelNames: [],
  },
  {
    name: 'ims_relay_smtp_refusals_total',
    help: 'SMTP refusals by reason: recipient_cap (each 452 after the limit), overshoot_close, header_limit, size_limit, bare_lf, write_failed, free_space_episode',
    labelNames: ['reason'],
  },
  {
    name: 'ims_relay_recipient_deliveries_total',
    help: 'Recipients of finished messages by outcome (delivered, failed) and delivery attempts that left recipients waiting (deferred)',
    labelNames: ['outcome'],
  },
  { name: 'ims_relay_reports_total', help: 'Delivery status reports queued, by kind', labelNames: ['kind'] },
  { name: 'ims_relay_events_total', help: 'Events logged, by event ID', labelNames: ['id', 'type'] },
];

const REFUSAL: Record<number, string> = {
  2101: 'overshoot_close',
  2110: 'header_limit',
  2111: 'size_limit',
  2112: 'bare_lf',
  2200: 'free_space_episode',
  2210: 'write_failed',
};

export class RelayMetrics {
  /** name -> labels (as JSON) -> value */
  private readonly counts = new Map<string, Map<string, number>>();
  private registry: Promise<Registry> | undefined;

  constructor(
    private readonly spool: Spool,
    eventLog: EventLog,
    delivery: DeliveryQueue | undefined,
  ) {
    eventLog.subscribe((e) => this.onEvent(e));
    delivery?.subscribe((_id, outcome) => {
      if (outcome instanceof Error) return;
      if (outcome.kind === 'finished') {
        this.inc('ims_relay_recipient_deliveries_total', { outcome: 'delivered' }, outcome.delivered);
        this.inc('ims_relay_recipient_deliveries_total', { outcome: 'failed' }, outcome.failed);
      } else if (outcome.kind === 'retry' && outcome.pending > 0) {
        this.inc('ims_relay_recipient_deliveries_total', { outcome: 'deferred' }, outcome.pending);
      }
    });
  }

  private inc(name: string, labels: Labels, by = 1): void {
    if (by <= 0) return;
    let series = this.counts.get(name);
    if (!series) this.counts.set(name, (series = new Map()));
    const key = JSON.stringify(labels);
    series.set(key, (series.get(key) ?? 0) + by);
  }

  private onEvent(e: RelayEvent): void {
    this.inc('ims_relay_events_total', { id: String(e.id), type: e.type });
    const data = e.data ?? {};
    if (e.id === 1100 || e.id === 1110) this.inc('ims_relay_messages_accepted_total', {});
    else if (e.id === 2100)
      this.inc('ims_relay_smtp_refusals_total', { reason: 'recipient_cap' }, Number(data.refused) || 0);
    else if (REFUSAL[e.id]) this.inc('ims_relay_smtp_refusals_total', { reason: REFUSAL[e.id]! });
    else if (e.id === 4117 || e.id === 1101) {
      const reports = Array.isArray(data.reports) ? data.reports.length : 0;
      this.inc('ims_relay_reports_total', { kind: e.id === 4117 ? 'failure' : 'success' }, reports);
    }
  }

  /** The registry, built on first use. */
  private build(): Promise<Registry> {
    this.registry ??= import('prom-client').then(({ Counter, Gauge, Registry, collectDefaultMetrics }) => {
      const registry = new Registry();
      collectDefaultMetrics({ register: registry, prefix: 'ims_relay_' });
      const counts = this.counts;
      for (const spec of COUNTERS) {
        new Counter({
          ...spec,
          registers: [registry],
          collect() {
            this.reset();
            for (const [labels, value] of counts.get(spec.name) ?? [])
              this.inc(JSON.parse(labels) as Labels, value);
          },
        });
      }
      const spool = this.spool;
      new Gauge({
        name: 'ims_relay_spool_messages',
        help: 'Entries in each spool folder',
        labelNames: ['folder'],
        registers: [registry],
        async collect() {
          for (const folder of QUEUE_FOLDERS) this.set({ folder }, (await spool.list(folder)).length);
        },
      });
      return registry;
    });
    return this.registry;
  }

  /** The metrics in Prometheus text format, and its content type. */
  async render(): Promise<{ contentType: string; text: string }> {
    const registry = await this.build();
    return { contentType: registry.contentType, text: await registry.metrics() };
  }
}
