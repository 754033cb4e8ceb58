/**
 * The SQLite index of the message store (better-sqlite3, WAL journal): one row per message, one
 * row per envelope recipient (a mailbox is a query on these), the per-recipient statuses of delivery reports, tags, and an FTS5 index over
 * subject, addresses and text body. Everything in it can be rebuilt from the message files.
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
  address TEXT NOT NULL,
  seq INTEGER NOT NULL,
  position INTEGER NOT NULL,
  given TEXT NOT NULL,
  PRIMARY KEY (address, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS recipients_by_message ON recipients (seq, position);
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

export class StoreIndex {
  readonly db: Database.Database;
  private readonly insertMessage: Database.Statement;
  private readonly insertRecipient: Database.Statement;
  private readonly insertStatus: Database.Statement;
  private readonly insertTag: Database.Statement;
  private readonly insertText: Database.Statement;

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
      this.db.exec(SCHEMA);
      this.insertMessage = this.db.prepare(
        `INSERT INTO messages (id, queue_id, sender, from_header, subject, header_date, captured_at, size, recipient_count, report, attachments, reported_queue_id)
         VALUES (@id, @queueId, @sender, @from, @subject, @headerDate, @capturedAt, @size, @recipientCount, @report, @attachments, @reportedQueueId)`,
      );
      this.insertRecipient = this.db.prepare(
        'INSERT OR IGNORE INTO recipients (address, seq, position, given) VALUES (?, ?, ?, ?)',
      );
      this.insertStatus = this.db.prepare(
        'INSERT INTO report_statuses (seq, position, recipient, action, status, diagnostic) VALUES (?, ?, ?, ?, ?, ?)',
      );
      this.insertTag = this.db.prepare('INSERT OR IGNORE INTO tags (tag, seq) VALUES (?, ?)');
      this.insertText = this.db.prepare(
        'INSERT INTO message_text (rowid, subject, addresses, body) VALUES (?, ?, ?, ?)',
      );
    } catch (err) {
      this.db.close();
      throw err;
    }
  }

  meta(key: string): string | undefined {
    const row = this.db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as
      { value: string } | undefined;
    return row?.value;
  }

  setMeta(key: string, value: string): void {
    this.db.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)').run(key, value);
  }

  /** Adds the records in one transaction (durable when it returns). Records whose ID is indexed already are skipped. */
  insert(records: readonly CaptureRecord[]): void {
    const exists = this.db.prepare('SELECT 1 FROM messages WHERE id = ?');
    this.db.transaction(() => {
      for (const r of records) {
        if (exists.get(r.id)) continue;
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
            recipientCount: r.recipients.length,
            report: r.report ? 1 : 0,
            attachments: r.attachments,
            reportedQueueId: r.reportedQueueId ?? null,
          }).lastInsertRowid,
        );
        r.recipients.forEach((address, i) =>
          this.insertRecipient.run(address.toLowerCase(), seq, i, address),
        );
        r.reportStatuses.forEach((s, i) =>
          this.insertStatus.run(seq, i, s.recipient, s.action, s.status, s.diagnostic ?? null),
        );
        for (const tag of r.tags) this.insertTag.run(tag, seq);
        const addresses = [r.sender, r.from, ...r.recipients].join(' ');
        this.insertText.run(seq, r.subject, addresses, r.text);
      }
    })();
  }

  /** The addresses (lower case) of `queueId` captured already, with the capture that holds each. */
  capturedRecipients(queueId: string): Map<string, string> {
    const rows = this.db
      .prepare(
        'SELECT r.address AS address, m.id AS id FROM messages m JOIN recipients r ON r.seq = m.seq WHERE m.queue_id = ?',
      )
      .all(queueId) as { address: string; id: string }[];
    return new Map(rows.map((r) => [r.address, r.id]));
  }

  /** How many captures of `queueId` the index holds. */
  capturesOf(queueId: string): string[] {
    return (
      this.db.prepare('SELECT id FROM messages WHERE queue_id = ?').all(queueId) as { id: string }[]
    ).map((r) => r.id);
  }

  private where(filter: MailFilter): { sql: string; params: unknown[] } {
    const clauses: string[] = [];
    const params: unknown[] = [];
    if (filter.to !== undefined) {
      clauses.push('seq IN (SELECT seq FROM recipients WHERE address = ?)');
      params.push(filter.to.toLowerCase());
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
    const row = this.db.prepare('SELECT * FROM messages WHERE id = ?').get(id) as RawRow | undefined;
    return row && toRow(row);
  }

  lastSeq(): number {
    return (this.db.prepare('SELECT coalesce(max(seq), 0) AS s FROM messages').get() as { s: number }).s;
  }

  recipients(seq: number, offset: number, limit: number): string[] {
    return (
      this.db
        .prepare('SELECT given FROM recipients WHERE seq = ? ORDER BY position LIMIT ? OFFSET ?')
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
    const find = this.db.prepare('SELECT seq FROM messages WHERE id = ?');
    const statements = [
      'DELETE FROM recipients WHERE seq = ?',
      'DELETE FROM report_statuses WHERE seq = ?',
      'DELETE FROM tags WHERE seq = ?',
      'DELETE FROM message_text WHERE rowid = ?',
      'DELETE FROM messages WHERE seq = ?',
    ].map((s) => this.db.prepare(s));
    const gone: string[] = [];
    this.db.transaction(() => {
      for (const id of ids) {
        const row = find.get(id) as { seq: number } | undefined;
        if (!row) continue;
        for (const s of statements) s.run(row.seq);
        gone.push(id);
      }
    })();
    return gone;
  }

  /** Message count and total size of the files. */
  /** The synchronous mode in force (`normal` or `full`). */
  synchronous(): string {
    const mode = this.db.pragma('synchronous', { simple: true });
    return ['off', 'normal', 'full', 'extra'][Number(mode)] ?? String(mode);
  }

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

  allIds(): Set<string> {
    return new Set((this.db.prepare('SELECT id FROM messages').pluck().all() as string[]) ?? []);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
