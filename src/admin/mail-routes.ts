/**
 * `/api/v1/mail`: captured mail from the message store — list and search (newest first, paged by
 * cursor), one message parsed, its source, its HTML (under a strict Content-Security-Policy: no
 * scripts, no remote content), its attachments, deletes, and a long-poll wait for tests in any
 * language. Capture and delete also show on the event stream (events 1130, 1131).
 */
import type { FastifyInstance } from 'fastify';
import { parseDuration } from '../config/duration.js';
import type { MessageStore } from '../store/message-store.js';
import { FILTER_KEYS, parseMailFilter, type MailFilter } from '../store/mail-filter.js';
import { attachmentOf, viewMessage } from '../store/message-view.js';
import type { MessageRow } from '../store/store-index.js';

/** Recipients shown in a list item (a message can have 32,766; the detail view pages them). */
const LISTED_RECIPIENTS = 5;
const MAX_WAIT_MS = 5 * 60_000;

/** The HTML view may show inline styles and embedded images, nothing that runs or calls out. */
export const HTML_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; img-src data: cid:; font-src data:; form-action 'none'; frame-ancestors 'self'; base-uri 'none'; sandbox";

type Query = Record<string, string | undefined>;

export function summaryOf(store: MessageStore, row: MessageRow) {
  return {
    id: row.id,
    queueId: row.queueId,
    from: row.from || row.sender,
    sender: row.sender,
    subject: row.subject,
    date: new Date(row.capturedAt).toISOString(),
    headerDate: row.headerDate ?? null,
    size: row.size,
    recipientCount: row.recipientCount,
    recipients: store.index.recipients(row.seq, 0, LISTED_RECIPIENTS),
    tags: store.index.tags(row.seq),
    report: row.report,
    ...(row.reportedQueueId ? { reportedQueueId: row.reportedQueueId } : {}),
    attachments: row.attachments,
  };
}

function intOf(v: string | undefined, fallback: number, min: number, max: number): number | undefined {
  if (v === undefined) return fallback;
  const n = Number(v);
  return Number.isInteger(n) && n >= min && n <= max ? n : undefined;
}

function filterOf(query: Query): MailFilter | string {
  const picked: Record<string, unknown> = {};
  for (const k of FILTER_KEYS) if (query[k] !== undefined) picked[k] = query[k];
  return parseMailFilter(picked);
}

/** `filename*=` (RFC 6266) with a plain ASCII fallback. */
function contentDisposition(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}

export function registerMailRoutes(app: FastifyInstance, store: MessageStore | undefined): void {
  const noStore = { error: 'the message store is not open' };

  app.get<{ Querystring: Query }>('/api/v1/mail', async (req, reply) => {
    if (!store) return reply.code(404).send(noStore);
    const filter = filterOf(req.query);
    if (typeof filter === 'string') return reply.code(400).send({ error: filter });
    const limit = intOf(req.query.limit, 50, 1, 1000);
    if (limit === undefined) return reply.code(400).send({ error: 'limit must be 1..1000' });
    const cursor =
      req.query.cursor === undefined ? undefined : intOf(req.query.cursor, 0, 1, Number.MAX_SAFE_INTEGER);
    if (cursor === undefined && req.query.cursor !== undefined)
      return reply.code(400).send({ error: 'cursor must be the nextCursor of an earlier page' });
    const page = store.list(filter, limit, cursor);
    return {
      total: page.total,
      messages: page.rows.map((r) => summaryOf(store, r)),
      ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}),
    };
  });

  app.delete<{ Querystring: Query }>('/api/v1/mail', async (req, reply) => {
    if (!store) return reply.code(404).send(noStore);
    const filter = filterOf(req.query);
    if (typeof filter === 'string') return reply.code(400).send({ error: filter });
    const gone = await store.deleteMatching(filter);
    return { deleted: gone.length };
  });

  app.get<{ Querystring: Query }>('/api/v1/mail/wait', async (req, reply) => {
    if (!store) return reply.code(404).send(noStore);
    const filter = filterOf(req.query);
    if (typeof filter === 'string') return reply.code(400).send({ error: filter });
    const timeout = req.query.timeout === undefined ? 30_000 : parseDuration(req.query.timeout);
    if (timeout === undefined || timeout > MAX_WAIT_MS)
      return reply.code(400).send({ error: 'timeout must be a duration up to 5m (e.g. 30s)' });
    const found = store.index.firstMatch(filter);
    if (found) return summaryOf(store, found);
    const from = store.index.lastSeq();
    const row = await new Promise<MessageRow | undefined>((resolve) => {
      const finish = (r: MessageRow | undefined) => {
        clearTimeout(timer);
        stop();
        req.raw.off('close', onClose);
        resolve(r);
      };
      const stop = store.onCaptured(() => {
        const match = store.index.firstMatch(filter, from);
        if (match) finish(match);
      });
      const onClose = () => finish(undefined);
      const timer = setTimeout(() => finish(undefined), timeout);
      req.raw.on('close', onClose);
    });
    if (!row)
      return reply
        .code(408)
        .send({ error: `no matching message was captured within ${req.query.timeout ?? '30s'}` });
    return summaryOf(store, row);
  });

  app.get<{ Params: { id: string }; Querystring: Query }>('/api/v1/mail/:id', async (req, reply) => {
    const row = store?.get(req.params.id);
    const message = row && store!.readMessage(row.id);
    if (!row || !message) return reply.code(404).send({ error: `no captured message ${req.params.id}` });
    const offset = intOf(req.query.recipientsOffset, 0, 0, Number.MAX_SAFE_INTEGER);
    const limit = intOf(req.query.recipientsLimit, 100, 1, 10_000);
    if (offset === undefined || limit === undefined)
      return reply.code(400).send({ error: 'recipientsOffset must be >= 0 and recipientsLimit 1..10000' });
    const view = await viewMessage(message);
    return {
      ...summaryOf(store!, row),
      recipients: {
        total: row.recipientCount,
        offset,
        limit,
        items: store!.index.recipients(row.seq, offset, limit),
      },
      to: view.to ?? null,
      cc: view.cc ?? null,
      headers: view.headers,
      text: view.text ?? null,
      html: view.html ?? null,
      attachments: view.attachments,
      reportStatuses: row.report ? store!.index.reportStatuses(row.seq) : [],
    };
  });

  app.get<{ Params: { id: string } }>('/api/v1/mail/:id/raw', async (req, reply) => {
    const file = store?.read(req.params.id);
    if (!file) return reply.code(404).send({ error: `no captured message ${req.params.id}` });
    return reply.header('content-type', 'message/rfc822').send(file);
  });

  app.get<{ Params: { id: string } }>('/api/v1/mail/:id/html', async (req, reply) => {
    const message = store?.readMessage(req.params.id);
    if (!message) return reply.code(404).send({ error: `no captured message ${req.params.id}` });
    const view = await viewMessage(message);
    if (view.html === undefined) return reply.code(404).send({ error: 'the message has no HTML part' });
    return reply
      .header('content-type', 'text/html; charset=utf-8')
      .header('content-security-policy', HTML_CSP)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .send(view.html);
  });

  app.get<{ Params: { id: string; n: string } }>('/api/v1/mail/:id/attachments/:n', async (req, reply) => {
    const message = store?.readMessage(req.params.id);
    if (!message) return reply.code(404).send({ error: `no captured message ${req.params.id}` });
    const n = intOf(req.params.n, 0, 0, 100_000);
    const found = n === undefined ? undefined : await attachmentOf(message, n);
    if (!found) return reply.code(404).send({ error: `the message has no attachment ${req.params.n}` });
    return reply
      .header('content-type', found.info.contentType)
      .header('content-disposition', contentDisposition(found.info.filename ?? `attachment-${n}`))
      .header('x-content-type-options', 'nosniff')
      .header('content-security-policy', "default-src 'none'; sandbox")
      .send(found.content);
  });

  app.delete<{ Params: { id: string } }>('/api/v1/mail/:id', async (req, reply) => {
    if (!store) return reply.code(404).send(noStore);
    const gone = await store.delete([req.params.id]);
    if (gone.length === 0) return reply.code(404).send({ error: `no captured message ${req.params.id}` });
    return { deleted: 1, id: req.params.id };
  });
}
