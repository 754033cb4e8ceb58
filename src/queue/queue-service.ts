/**
 * The queue operations (list, count, show, retry, hold, release, delete, replay) as one service
 * beside the spool, coordinated with the delivery scheduler when the relay is running (so a held
 * or deleted entry is not picked up, a retried one is delivered now). Used by the admin API inside
 * the relay, and by the CLI on a spool no relay runs on (with no scheduler). It imports the spool
 * and the message parser only: the scheduler is whatever has the three methods below (the
 * delivery queue, in the relay).
 */
import {
  deleteEntry,
  findEntry,
  holdEntry,
  listFolder,
  replayEntry,
  retryEntry,
  summarize,
  summarizeQuarantined,
  type OperationResult,
  type QueueItem,
} from '../spool/queue-operations.js';
import type { Envelope } from '../message/envelope.js';
import {
  ListingSnapshots,
  countEntries,
  itemMatches,
  listPage,
  walkFolder,
  type QueueFilter,
  type QueuePage,
} from '../spool/queue-listing.js';
import { describeQuarantinedPickup, type QuarantinedPickup } from '../spool/quarantined-pickup.js';
import { readRegularFile } from '../spool/regular-file.js';
import type { JournalState } from '../spool/recipient-journal.js';
import type { QueueFolder, Spool } from '../spool/spool.js';

export interface MessageDetail {
  item: QueueItem;
  envelope: Envelope;
  recipients: {
    address: string;
    state: 'pending' | 'deferred' | 'delivered' | 'relayed' | 'failed';
    status?: string;
    diagnostic?: string;
  }[];
  parsed: {
    subject?: string;
    from?: string;
    to?: string;
    date?: string;
    messageId?: string;
    text?: string;
    attachments: number;
  };
}

export type DetailResult = { ok: true; detail: MessageDetail } | Extract<OperationResult, { ok: false }>;
export type RawResult =
  { ok: true; raw: Buffer; folder: QueueFolder } | Extract<OperationResult, { ok: false }>;

function recipientStates(envelope: Envelope, journal: JournalState): MessageDetail['recipients'] {
  return envelope.recipients.map((r, i) => {
    const done = journal.done.get(i);
    if (done)
      return {
        address: r.address,
        state: done.action,
        status: done.status,
        ...(done.diagnostic ? { diagnostic: done.diagnostic } : {}),
      };
    const deferred = journal.deferred.get(i);
    if (deferred)
      return {
        address: r.address,
        state: 'deferred',
        status: deferred.status,
        ...(deferred.diagnostic ? { diagnostic: deferred.diagnostic } : {}),
      };
    return { address: r.address, state: 'pending' };
  });
}

/** What the service tells the relay's delivery scheduler (src/delivery/delivery-queue.ts). */
export interface QueueScheduler {
  /** Delivers the entry now (or when it is done with the attempt it is in). */
  enqueue(folder: 'in' | 'out', queueId: string): void;
  /** Forgets a waiting entry (held or deleted). */
  cancel(queueId: string): void;
  /** Whether the entry is being delivered right now. */
  isActive(queueId: string): boolean;
}

export class QueueService {
  /** For clients paging through a deep folder with a cursor (one pass over its names, not one a page). */
  private readonly snapshots = new ListingSnapshots();

  constructor(
    readonly spool: Spool,
    private readonly delivery?: QueueScheduler,
  ) {}

  list(
    folder: QueueFolder,
    page: { offset?: number; limit?: number } = {},
  ): Promise<{ total: number; items: QueueItem[] }> {
    return listFolder(this.spool, folder, page);
  }

  /** A page after `cursor` (see queue-listing.ts): holds the page in memory, never the folder. */
  async page(
    folder: QueueFolder,
    page: { cursor?: string; limit: number; filter?: QueueFilter },
  ): Promise<QueuePage> {
    if (folder !== 'bad') return listPage(this.spool, folder, page, Date.now(), this.snapshots);
    // bad/ also holds quarantined pickup files (not entries): listed whole, it is never deep
    const { total, items } = await this.list('bad');
    const matching = items.filter(
      (i) => (!page.cursor || i.queueId > page.cursor) && itemMatches(i, page.filter ?? {}),
    );
    const shown = matching.slice(0, page.limit);
    return {
      items: shown,
      total,
      ...(matching.length > page.limit ? { nextCursor: shown.at(-1)!.queueId } : {}),
    };
  }

  /**
   * Every matching entry of a folder, oldest first, handed to `each` a batch at a time as it is
   * read (so that output streams); resolves with the folder's entry count. For a process that holds
   * the spool (the CLI with no relay running); the admin API pages with `page` instead.
   */
  async walk(folder: QueueFolder, filter: QueueFilter, each: (items: QueueItem[]) => void): Promise<number> {
    if (folder === 'bad') {
      // with the quarantined pickup files (see page)
      const page = await this.page('bad', { limit: Number.MAX_SAFE_INTEGER, filter });
      if (page.items.length > 0) each(page.items);
      return page.total;
    }
    return walkFolder(this.spool, folder, filter, each);
  }

  async count(folder: QueueFolder, filter: QueueFilter = {}): Promise<number> {
    if (folder !== 'bad') return countEntries(this.spool, folder, filter);
    return (await this.list('bad')).items.filter((i) => itemMatches(i, filter)).length;
  }

  async raw(queueId: string): Promise<RawResult> {
    const found = await findEntry(this.spool, queueId);
    if (!found.ok) return found;
    if (found.pickup) {
      const read = await readRegularFile(found.pickup.file);
      if (!read.ok) return { ok: false, status: 'conflict', message: `${queueId} ${read.reason}` };
      return { ok: true, raw: read.bytes, folder: 'bad' };
    }
    const entry = await this.spool.readEntry(found.folder, queueId);
    if (!entry.ok)
      return { ok: false, status: 'conflict', message: `${queueId} cannot be read: ${entry.reason}` };
    return { ok: true, raw: entry.message, folder: found.folder };
  }

  async show(queueId: string): Promise<DetailResult> {
    const found = await findEntry(this.spool, queueId);
    if (!found.ok) return found;
    if (found.pickup) return this.showQuarantined(found.pickup);
    const entry = await this.spool.readEntry(found.folder, queueId);
    if (!entry.ok)
      return { ok: false, status: 'conflict', message: `${queueId} cannot be read: ${entry.reason}` };
    const item = await summarize(this.spool, found.folder, queueId);
    const journal = await this.spool.readJournal(found.folder, queueId);
    return {
      ok: true,
      detail: {
        item: item!,
        envelope: entry.envelope,
        recipients: recipientStates(entry.envelope, journal),
        parsed: await parsedSummary(entry.message),
      },
    };
  }

  /** A pickup file quarantined in bad/: what its X- lines and headers say. */
  private async showQuarantined(q: QuarantinedPickup): Promise<DetailResult> {
    const item = await summarizeQuarantined(q);
    if (!item) return { ok: false, status: 'not-found', message: `${q.queueId} is gone from bad/` };
    const { envelope } = await describeQuarantinedPickup(q);
    return {
      ok: true,
      detail: {
        item,
        envelope,
        recipients: envelope.recipients.map((r) => ({ address: r.address, state: 'pending' as const })),
        parsed: await parsedSummary(
          await readRegularFile(q.file).then((r) => (r.ok ? r.bytes : Buffer.alloc(0))),
        ),
      },
    };
  }

  async retry(queueId: string): Promise<OperationResult> {
    const result = await retryEntry(this.spool, queueId);
    if (result.ok && (result.folder === 'in' || result.folder === 'out'))
      this.delivery?.enqueue(result.folder, queueId);
    return result;
  }

  async hold(queueId: string): Promise<OperationResult> {
    if (this.delivery?.isActive(queueId)) return busy(queueId);
    const result = await holdEntry(this.spool, queueId, true);
    if (result.ok) this.delivery?.cancel(queueId);
    return result;
  }

  async release(queueId: string): Promise<OperationResult> {
    const result = await holdEntry(this.spool, queueId, false);
    if (result.ok && (result.folder === 'in' || result.folder === 'out'))
      this.delivery?.enqueue(result.folder, queueId);
    return result;
  }

  async delete(queueId: string): Promise<OperationResult> {
    if (this.delivery?.isActive(queueId)) return busy(queueId);
    this.delivery?.cancel(queueId);
    return deleteEntry(this.spool, queueId);
  }

  async replay(queueId: string): Promise<OperationResult> {
    const result = await replayEntry(this.spool, queueId);
    if (result.ok && !result.pickup) this.delivery?.enqueue('in', queueId);
    return result;
  }
}

function busy(queueId: string): OperationResult {
  return {
    ok: false,
    status: 'conflict',
    message: `${queueId} is being delivered right now; try again in a moment`,
  };
}

/** The parsed headers and text of a message, for `show`. */
async function parsedSummary(message: Buffer): Promise<MessageDetail['parsed']> {
  // the parser (mailparser and its encodings) is loaded by the first `show`, not by every command
  const { parseMail } = await import('../message/parse-mail.js');
  const mail = await parseMail(message, { skipHtmlToText: true, skipTextLinks: true });
  return {
    ...(mail.subject ? { subject: mail.subject } : {}),
    ...(mail.from?.text ? { from: mail.from.text } : {}),
    ...(mail.to ? { to: Array.isArray(mail.to) ? mail.to.map((a) => a.text).join(', ') : mail.to.text } : {}),
    ...(mail.date ? { date: mail.date.toISOString() } : {}),
    ...(mail.messageId ? { messageId: mail.messageId } : {}),
    ...(mail.text ? { text: mail.text.slice(0, 4000) } : {}),
    attachments: mail.attachments.length,
  };
}
