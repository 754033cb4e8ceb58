/**
 * The SQLite index of the message store (better-sqlite3, WAL journal): one row per message, one
 * row per envelope recipient (a mailbox is a query on these), the per-recipient statuses of delivery reports, tags, and an FTS5 index over
 * subject, addresses and text body. Everything in it can be rebuilt from the message files.
 *
 * Recipient rows are kept in message order (appended, so a capture writes a few pages however
 * many recipients it has), and found by address through `mailbox_index`, which is filled from them
 * in the background (`mergeMailboxes`: many messages at once, in address order, instead of one
 * random insert per recipient per capture, which rewrote most of the address index at every
 * commit). Rows not merged yet (seq above the `merged` mark in `meta`) are searched directly.
 *
 * The full-text rows are written the same way, many messages at a time (`indexText`): a capture
 * leaves its text in memory, and it goes into FTS5 once captures pause, when much is waiting, or
 * before any full-text query of this connection. FTS5 writes a new segment per transaction, so a
 * transaction per capture cost about twice the CPU time per message (docs/performance.md). Messages
 * above the `text` mark in `meta` have no full-text row yet; a store opened after a crash reads
 * their files again (`withoutText`).
 */
import Database from 'better-sqlite3';
import type { CaptureRecord } from './capture-record.js';
import { fullTextQuery, type MailFilter } from './mail-filter.js';
import type { ReportStatus } from './report-statuses.js';

/** Bumped when the schema changes; an index of another version is rebuilt from the files. */
export const SCHEMA_VERSION = 2;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS messages (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  queue_id TEXT NOT NULL,
  sender TEXT NOT NULL,
  from_header TEXT NOT NULL,
  subject TEXT NOT NULL,
  header_date TEXT,
  captured_at INTEGER NOT NULL,
  size INTEGER NOT NULL,
  recipient_count INTEGER NOT NULL,
  report INTEGER NOT NULL,
  attachments INTEGER NOT NULL,
  reported_queue_id TEXT
);
CREATE INDEX IF NOT EXISTS messages_queue_id ON messages (queue_id);
CREATE INDEX IF NOT EXISTS messages_reported_queue_id ON messages (reported_queue_id) WHERE reported_queue_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS messages_captured_at ON messages (captured_at);
CREATE TABLE IF NOT EXISTS recipients (
  seq INTEGER NOT NULL,
  position INTEGER NOT NULL,
  address TEXT NOT NULL,
  given TEXT,
  PRIMARY KEY (seq, position)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS mailbox_index (
  address TEXT NOT NULL,
  seq INTEGER NOT NULL,
  PRIMARY KEY (address, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS report_statuses (
  seq INTEGER NOT NULL,
  position INTEGER NOT NULL,
  recipient TEXT NOT NULL,
  action TEXT NOT NULL,
  status TEXT NOT NULL,
  diagnostic TEXT,
  PRIMARY KEY (seq, position)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tags (
  tag TEXT NOT NULL,
  seq INTEGER NOT NULL,
  PRIMARY KEY (tag, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS tags_by_message ON tags (seq);
CREATE VIRTUAL TABLE IF NOT EXISTS message_text USING fts5 (
  subject, addresses, body, content='', contentless_delete=1
);
`;

export interface MessageRow {
  seq: number;
  id: string;
  queueId: string;
  sender: string;
  from: string;
  subject: string;
  headerDate: string | undefined;
  capturedAt: number;
  size: number;
  recipientCount: number;
  report: boolean;
  attachments: number;
  /** For a delivery report: the queue ID of the message it reports on. */
  reportedQueueId: string | undefined;
}

interface RawRow {
  seq: number;
  id: string;
  queue_id: string;
  sender: string;
  from_header: string;
  subject: string;
  header_date: string | null;
  captured_at: number;
  size: number;
  recipient_count: number;
  report: number;
  attachments: number;
  reported_queue_id: string | null;
}

const toRow = (r: RawRow): MessageRow => ({
  seq: r.seq,
  id: r.id,
  queueId: r.queue_id,
  sender: r.sender,
  from: r.from_header,
  subject: r.subject,
  headerDate: r.header_date ?? undefined,
  capturedAt: r.captured_at,
  size: r.size,
  recipientCount: r.recipient_count,
  report: r.report === 1,
  attachments: r.attachments,
  reportedQueueId: r.reported_queue_id ?? undefined,
});

export interface Page {
  total: number;
  rows: MessageRow[];
  /** Pass as `cursor` for the next (older) page; undefined on the last page. */
  nextCursor: string | undefined;
}

/** `LIKE` pattern for "contains", with the wildcards of the input escaped. */
const contains = (s: string) => '%' + s.toLowerCase().replace(/[\\%_]/g, (c) => '\\' + c) + '%';

/** The highest seq whose recipients are in mailbox_index (read inside each query). */
const MERGED = "(SELECT coalesce(CAST(value AS INTEGER), 0) FROM meta WHERE key = 'merged')";
/** Messages whose recipients are (or may be) both unmerged and of this address. */
const BY_ADDRESS = `(SELECT seq FROM mailbox_index WHERE address = ? UNION ALL SELECT seq FROM recipients WHERE seq > coalesce(${MERGED}, 0) AND address = ?)`;
/** The page cache of a connection, in KiB as `PRAGMA cache_size` takes it (negative: KiB, not pages). */
const PAGE_CACHE_KIB = -2000;
/** Recipient rows merged per transaction (whole messages; one message may have more). */
const MERGE_ROWS = 50_000;

/** A message's full-text row, waiting in memory for `indexText`. */
interface PendingText {
  seq: number;
  /** The message's ID: a row is written only while the message is still indexed under this seq. */
  id: string;
  /** Queued again after a crash: a full-text row for it may exist already (written by another version). */
  again?: boolean;
  subject: string;
  addresses: string;
  body: string;
  /** Its size in characters (what the memory bound counts). */
  chars: number;
}

export class StoreIndex {
  readonly db: Database.Database;
  private readonly insertMessage: Database.Statement;
  private readonly insertRecipients: Database.Statement;
  private readonly insertRecipientPairs: Database.Statement;
  private readonly insertStatus: Database.Statement;
  private readonly insertTag: Database.Statement;
  private readonly insertText: Database.Statement;
  /** Prepared statements of fixed SQL, kept: preparing one per call cost more than running it. */
  private readonly statements = new Map<string, Database.Statement>();
  /** Messages in the index, counted once and then kept up to date (retention looks after each batch). */
  private messageTotal: number | undefined;
  /** Full-text rows not written yet, in seq order, and their size in characters. */
  private pendingText: PendingText[] = [];
  private pendingChars = 0;

  /** Opens (creating) the index; throws when the file is not a usable SQLite database. */
  constructor(file: string, options: { readonly?: boolean } = {}) {
    this.db = new Database(file, { fileMustExist: options.readonly === true, timeout: 10_000 });
    try {
      this.db.pragma('journal_mode = WAL');
      // NORMAL, not FULL: a commit is not fsynced (a process crash keeps it; a power loss may drop
      // the last ones). The message files are durable before their commit and the store indexes
      // any file the index lacks at open, before a delivery can be repeated: nothing is lost or
      // captured twice, and no commit blocks the event loop on an fsync (2.5 ms a capture).
      this.db.pragma('synchronous = NORMAL');
      // better-sqlite3 builds SQLite with a 16 MB page cache per connection; a relay idle over
      // 100,000 captured messages held 5-13 MB of it from what the start read. SQLite's own
      // default (2 MB) made no difference to the CPU time of the captures (docs/performance.md).
      this.db.pragma(`cache_size = ${PAGE_CACHE_KIB}`);
      this.db.exec(SCHEMA);
      this.insertMessage = this.db.prepare(
        `INSERT INTO messages (id, queue_id, sender, from_header, subject, header_date, captured_at, size, recipient_count, report, attachments, reported_queue_id)
         VALUES (@id, @queueId, @sender, @from, @subject, @headerDate, @capturedAt, @size, @recipientCount, @report, @attachments, @reportedQueueId)`,
      );
      this.insertRecipients = this.db.prepare(
        'INSERT INTO recipients (seq, position, address, given) SELECT ?, key, value, NULL FROM json_each(?)',
      );
      this.insertRecipientPairs = this.db.prepare(
        'INSERT INTO recipients (seq, position, address, given) SELECT ?, key, value ->> 0, value ->> 1 FROM json_each(?)',
      );
      this.insertStatus = this.db.prepare(
        'INSERT INTO report_statuses (seq, position, recipient, action, status, diagnostic) VALUES (?, ?, ?, ?, ?, ?)',
      );
      this.insertTag = this.db.prepare('INSERT OR IGNORE INTO tags (tag, seq) VALUES (?, ?)');
      this.insertText = this.db.prepare(
        'INSERT INTO message_text (rowid, subject, addresses, body) VALUES (?, ?, ?, ?)',
      );
      // an index from before the text mark had every message's text written at its capture
      if (!options.readonly && this.meta('text') === undefined) this.setMeta('text', String(this.lastSeq()));
    } catch (err) {
      this.db.close();
      throw err;
    }
  }

  /** The prepared statement of `sql`, prepared once. */
  private stmt(sql: string): Database.Statement {
    let s = this.statements.get(sql);
    if (!s) this.statements.set(sql, (s = this.db.prepare(sql)));
    return s;
  }

  meta(key: string): string | undefined {
    const row = this.stmt('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined;
    return row?.value;
  }

  setMeta(key: string, value: string): void {
    this.stmt('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)').run(key, value);
  }

  /**
   * Adds the records in one transaction (durable when it returns; their full-text rows follow with
   * `indexText`). Records whose ID is indexed already are skipped.
   */
  insert(records: readonly CaptureRecord[]): void {
    const exists = this.stmt('SELECT 1 FROM messages WHERE id = ?');
    let inserted = 0;
    const texts: PendingText[] = [];
    this.db.transaction(() => {
      for (const r of records) {
        if (exists.get(r.id)) continue;
        inserted++;
        // one row per address (lower case), with the address as given where it differs
        const keys = new Map<string, string>();
        for (const address of r.recipients) {
          const key = address.toLowerCase();
          if (!keys.has(key)) keys.set(key, address);
        }
        const seq = Number(
          this.insertMessage.run({
            id: r.id,
            queueId: r.queueId,
            sender: r.sender,
            from: r.from,
            subject: r.subject,
            headerDate: r.headerDate ?? null,
            capturedAt: r.capturedAt,
            size: r.size,
            recipientCount: keys.size,
            report: r.report ? 1 : 0,
            attachments: r.attachments,
            reportedQueueId: r.reportedQueueId ?? null,
          }).lastInsertRowid,
        );
        // one statement per message (json_each), not one per recipient: 32,766 run() calls cost twice as much
        const lower = [...keys.keys()];
        if (lower.every((k) => keys.get(k) === k)) this.insertRecipients.run(seq, JSON.stringify(lower));
        else
          this.insertRecipientPairs.run(
            seq,
            JSON.stringify(lower.map((k) => (keys.get(k) === k ? [k, null] : [k, keys.get(k)]))),
          );
        r.reportStatuses.forEach((s, i) =>
          this.insertStatus.run(seq, i, s.recipient, s.action, s.status, s.diagnostic ?? null),
        );
        for (const tag of r.tags) this.insertTag.run(tag, seq);
        texts.push(textRow(seq, r));
      }
    })();
    if (this.messageTotal !== undefined) this.messageTotal += inserted;
    for (const t of texts) this.addPendingText(t);
  }

  private addPendingText(t: PendingText): void {
    this.pendingText.push(t);
    this.pendingChars += t.chars;
  }

  private setPendingText(rows: PendingText[]): void {
    this.pendingText = rows;
    this.pendingChars = rows.reduce((n, t) => n + t.chars, 0);
  }

  /** Messages whose full-text row waits in memory, and their text's size in characters. */
  textPending(): { messages: number; chars: number } {
    return { messages: this.pendingText.length, chars: this.pendingChars };
  }

  /**
   * Writes the waiting full-text rows, up to `max` messages, in one transaction, and moves the
   * `text` mark past them. Returns how many it wrote.
   */
  indexText(max = Infinity): number {
    if (this.pendingText.length === 0) return 0;
    const batch = this.pendingText.length <= max ? this.pendingText : this.pendingText.slice(0, max);
    const drop = this.stmt('DELETE FROM message_text WHERE rowid = ?');
    // a message deleted meanwhile (here or by another process, `ims-relay mailbox delete`) is
    // skipped, also when a new capture has taken its seq
    const current = this.stmt('SELECT id FROM messages WHERE seq = ?').pluck();
    this.db.transaction(() => {
      for (const t of batch) {
        if (current.get(t.seq) !== t.id) continue;
        if (t.again) drop.run(t.seq);
        this.insertText.run(t.seq, t.subject, t.addresses, t.body);
      }
      this.setMeta('text', String(batch[batch.length - 1]!.seq));
    })();
    this.setPendingText(batch === this.pendingText ? [] : this.pendingText.slice(batch.length));
    return batch.length;
  }

  /**
   * Messages above the `text` mark: indexed, their full-text rows lost with the process that held
   * them in memory (a crash). Asked at open, before any capture: seq and ID, in seq order.
   */
  withoutText(): { seq: number; id: string }[] {
    const mark = Number(this.meta('text') ?? 0);
    return this.db.prepare('SELECT seq, id FROM messages WHERE seq > ? ORDER BY seq').all(mark) as {
      seq: number;
      id: string;
    }[];
  }

  /** Queues the full-text row of a message `withoutText` named (in its order). */
  queueText(seq: number, record: CaptureRecord): void {
    this.addPendingText({ ...textRow(seq, record), again: true });
  }

  /** How many messages the index holds (counted at the first call, then kept up to date). */
  count(): number {
    this.messageTotal ??= (this.stmt('SELECT count(*) AS n FROM messages').get() as { n: number }).n;
    return this.messageTotal;
  }

  /** Empties the index (before a rebuild from the files). */
  clear(): void {
    this.db.exec(
      "DELETE FROM recipients; DELETE FROM mailbox_index; DELETE FROM meta WHERE key = 'merged'; DELETE FROM report_statuses; DELETE FROM tags; DELETE FROM message_text; DELETE FROM messages; INSERT OR REPLACE INTO meta (key, value) VALUES ('text', '0');",
    );
    this.messageTotal = 0;
    this.setPendingText([]);
  }

  /** The addresses (lower case) of `queueId` captured already, with the capture that holds each. */
  capturedRecipients(queueId: string): Map<string, string> {
    const rows = this.stmt(
      'SELECT r.address AS address, m.id AS id FROM messages m JOIN recipients r ON r.seq = m.seq WHERE m.queue_id = ?',
    ).all(queueId) as { address: string; id: string }[];
    return new Map(rows.map((r) => [r.address, r.id]));
  }

  /** How many captures of `queueId` the index holds. */
  capturesOf(queueId: string): string[] {
    return (this.stmt('SELECT id FROM messages WHERE queue_id = ?').all(queueId) as { id: string }[]).map(
      (r) => r.id,
    );
  }

  private where(filter: MailFilter): { sql: string; params: unknown[] } {
    const clauses: string[] = [];
    const params: unknown[] = [];
    if (filter.to !== undefined) {
      clauses.push(`seq IN ${BY_ADDRESS}`);
      params.push(filter.to.toLowerCase(), filter.to.toLowerCase());
    }
    if (filter.from !== undefined) {
      clauses.push("(lower(sender) LIKE ? ESCAPE '\\' OR lower(from_header) LIKE ? ESCAPE '\\')");
      params.push(contains(filter.from), contains(filter.from));
    }
    if (filter.subject !== undefined) {
      clauses.push("lower(subject) LIKE ? ESCAPE '\\'");
      params.push(contains(filter.subject));
    }
    if (filter.q !== undefined) {
      const match = fullTextQuery(filter.q);
      if (match !== undefined) {
        // a full-text query sees every message captured so far
        if (this.pendingText.length > 0 && !this.db.readonly) this.indexText();
        clauses.push('seq IN (SELECT rowid FROM message_text WHERE message_text MATCH ?)');
        params.push(match);
      }
    }
    if (filter.queueId !== undefined) {
      clauses.push('(queue_id = ? OR reported_queue_id = ?)');
      params.push(filter.queueId, filter.queueId);
    }
    if (filter.tag !== undefined) {
      clauses.push('seq IN (SELECT seq FROM tags WHERE tag = ?)');
      params.push(filter.tag);
    }
    if (filter.since !== undefined) {
      clauses.push('captured_at >= ?');
      params.push(filter.since);
    }
    if (filter.report !== undefined) {
      clauses.push('report = ?');
      params.push(filter.report ? 1 : 0);
    }
    return { sql: clauses.length ? 'WHERE ' + clauses.join(' AND ') : '', params };
  }

  /** Newest first; `cursor` is the `nextCursor` of the previous page. */
  list(filter: MailFilter, limit: number, cursor?: number): Page {
    const { sql, params } = this.where(filter);
    const total = (
      this.db.prepare(`SELECT count(*) AS n FROM messages ${sql}`).get(...params) as { n: number }
    ).n;
    const paged = cursor === undefined ? sql : `${sql ? sql + ' AND' : 'WHERE'} seq < ?`;
    const rows = (
      this.db
        .prepare(`SELECT * FROM messages ${paged} ORDER BY seq DESC LIMIT ?`)
        .all(...params, ...(cursor === undefined ? [] : [cursor]), limit + 1) as RawRow[]
    ).map(toRow);
    const more = rows.length > limit;
    if (more) rows.pop();
    return { total, rows, nextCursor: more ? String(rows[rows.length - 1]!.seq) : undefined };
  }

  /** The oldest message matching, captured after `afterSeq` (for waits). */
  firstMatch(filter: MailFilter, afterSeq = 0): MessageRow | undefined {
    const { sql, params } = this.where(filter);
    const row = this.db
      .prepare(`SELECT * FROM messages ${sql ? sql + ' AND' : 'WHERE'} seq > ? ORDER BY seq ASC LIMIT 1`)
      .get(...params, afterSeq) as RawRow | undefined;
    return row && toRow(row);
  }

  /** Every message matching, oldest first (the test API; stores are small there). */
  all(filter: MailFilter = {}): MessageRow[] {
    const { sql, params } = this.where(filter);
    return (this.db.prepare(`SELECT * FROM messages ${sql} ORDER BY seq ASC`).all(...params) as RawRow[]).map(
      toRow,
    );
  }

  ids(filter: MailFilter): string[] {
    const { sql, params } = this.where(filter);
    return (this.db.prepare(`SELECT id FROM messages ${sql}`).all(...params) as { id: string }[]).map(
      (r) => r.id,
    );
  }

  get(id: string): MessageRow | undefined {
    const row = this.stmt('SELECT * FROM messages WHERE id = ?').get(id) as RawRow | undefined;
    return row && toRow(row);
  }

  lastSeq(): number {
    return (this.db.prepare('SELECT coalesce(max(seq), 0) AS s FROM messages').get() as { s: number }).s;
  }

  recipients(seq: number, offset: number, limit: number): string[] {
    return (
      this.db
        .prepare(
          'SELECT coalesce(given, address) AS given FROM recipients WHERE seq = ? ORDER BY position LIMIT ? OFFSET ?',
        )
        .all(seq, limit, offset) as { given: string }[]
    ).map((r) => r.given);
  }

  tags(seq: number): string[] {
    return (
      this.db.prepare('SELECT tag FROM tags WHERE seq = ? ORDER BY tag').all(seq) as { tag: string }[]
    ).map((r) => r.tag);
  }

  /** Adds tags to a message (for whoever tags captured mail). */
  addTags(id: string, tags: readonly string[]): boolean {
    const row = this.get(id);
    if (!row) return false;
    this.db.transaction(() => {
      for (const tag of tags) this.insertTag.run(tag, row.seq);
    })();
    return true;
  }

  reportStatuses(seq: number): ReportStatus[] {
    return (
      this.db
        .prepare(
          'SELECT recipient, action, status, diagnostic FROM report_statuses WHERE seq = ? ORDER BY position',
        )
        .all(seq) as { recipient: string; action: string; status: string; diagnostic: string | null }[]
    ).map((r) => ({ ...r, diagnostic: r.diagnostic ?? undefined }));
  }

  /** Mailboxes: each recipient address and how many messages it has. */
  mailboxes(): { mailbox: string; messages: number }[] {
    return this.db
      .prepare(
        'SELECT address AS mailbox, count(*) AS messages FROM recipients GROUP BY address ORDER BY address',
      )
      .all() as { mailbox: string; messages: number }[];
  }

  /** Removes messages (and their rows) in one transaction; returns the IDs that were there. */
  delete(ids: readonly string[]): string[] {
    const find = this.stmt('SELECT seq FROM messages WHERE id = ?');
    const statements = [
      'DELETE FROM mailbox_index WHERE seq = @seq AND address IN (SELECT address FROM recipients WHERE seq = @seq)',
      'DELETE FROM recipients WHERE seq = @seq',
      'DELETE FROM report_statuses WHERE seq = @seq',
      'DELETE FROM tags WHERE seq = @seq',
      'DELETE FROM message_text WHERE rowid = @seq',
      'DELETE FROM messages WHERE seq = @seq',
    ].map((s) => this.stmt(s));
    const gone: string[] = [];
    this.db.transaction(() => {
      for (const id of ids) {
        const row = find.get(id) as { seq: number } | undefined;
        if (!row) continue;
        for (const s of statements) s.run({ seq: row.seq });
        gone.push(id);
      }
    })();
    if (this.messageTotal !== undefined) this.messageTotal -= gone.length;
    // a deleted message's waiting text is dropped by indexText, which writes only current messages'
    return gone;
  }

  /** The synchronous mode in force (`normal` or `full`). */
  synchronous(): string {
    const mode = this.db.pragma('synchronous', { simple: true });
    return ['off', 'normal', 'full', 'extra'][Number(mode)] ?? String(mode);
  }

  /** How many messages (counted on the smallest index: no read of every row). */

  /** Message count and total size of the files (reads every row). */
  totals(): { messages: number; bytes: number } {
    const r = this.db.prepare('SELECT count(*) AS n, coalesce(sum(size), 0) AS b FROM messages').get() as {
      n: number;
      b: number;
    };
    return { messages: r.n, bytes: r.b };
  }

  /** The oldest messages, oldest first: ID, size and time, for retention. */
  oldest(limit: number): { id: string; size: number; capturedAt: number }[] {
    return this.db
      .prepare('SELECT id, size, captured_at AS capturedAt FROM messages ORDER BY seq ASC LIMIT ?')
      .all(limit) as { id: string; size: number; capturedAt: number }[];
  }

  /** The highest seq whose recipients are in mailbox_index. */
  mergedUpTo(): number {
    return Number(this.meta('merged') ?? 0);
  }

  /** Recipient rows not in mailbox_index yet. */
  unmergedRecipients(): number {
    return (
      this.db.prepare(`SELECT count(*) AS n FROM recipients WHERE seq > ?`).get(this.mergedUpTo()) as {
        n: number;
      }
    ).n;
  }

  /**
   * Moves the recipients of up to MERGE_ROWS rows' worth of messages (at least one message) into
   * mailbox_index, in address order, in one transaction. Returns how many messages it merged (0:
   * nothing left).
   */
  mergeMailboxes(): number {
    const from = this.mergedUpTo();
    const counts = this.db
      .prepare('SELECT seq, recipient_count AS n FROM messages WHERE seq > ? ORDER BY seq LIMIT 1000')
      .all(from) as { seq: number; n: number }[];
    if (counts.length === 0) return 0;
    let to = counts[0]!.seq;
    let rows = 0;
    let merged = 0;
    for (const c of counts) {
      if (merged > 0 && rows + c.n > MERGE_ROWS) break;
      rows += c.n;
      to = c.seq;
      merged++;
    }
    this.db.transaction(() => {
      this.db
        .prepare(
          'INSERT OR IGNORE INTO mailbox_index (address, seq) SELECT address, seq FROM recipients WHERE seq > ? AND seq <= ? ORDER BY address, seq',
        )
        .run(from, to);
      this.setMeta('merged', String(to));
    })();
    return merged;
  }

  /** Every message ID, in order (BINARY collation), one at a time. */
  idsInOrder(): IterableIterator<string> {
    return this.db
      .prepare('SELECT id FROM messages ORDER BY id')
      .pluck()
      .iterate() as IterableIterator<string>;
  }

  /** Those of `ids` that no message of the index has (one query for all of them). */
  notIndexed(ids: readonly string[]): string[] {
    if (ids.length === 0) return [];
    return this.stmt(
      'SELECT value FROM json_each(?) WHERE NOT EXISTS (SELECT 1 FROM messages WHERE id = value)',
    )
      .pluck()
      .all(JSON.stringify(ids)) as string[];
  }

  allIds(): Set<string> {
    return new Set((this.db.prepare('SELECT id FROM messages').pluck().all() as string[]) ?? []);
  }

  /** Writes the waiting full-text rows (when it can) and closes the database. */
  close(): void {
    if (!this.db.open) return;
    try {
      if (!this.db.readonly) this.indexText();
    } catch {
      // a full disk: the files are there, the next open writes their text
    }
    this.db.close();
  }
}

function textRow(seq: number, r: CaptureRecord): PendingText {
  const addresses = [r.sender, r.from, ...r.recipients].join(' ');
  return {
    seq,
    id: r.id,
    subject: r.subject,
    addresses,
    body: r.text,
    chars: r.subject.length + addresses.length + r.text.length,
  };
}
