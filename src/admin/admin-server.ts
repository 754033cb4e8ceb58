/**
 * The HTTP admin API (fastify): spool messages, events (and a server-sent-events stream),
 * capture-mode mailboxes, failure rules, health, readiness and Prometheus metrics. Documented by
 * the OpenAPI document it serves at /api/v1/openapi.json. With an admin token, every request
 * needs `Authorization: Bearer <token>` (401 otherwise). Before that, request-guard.ts refuses
 * foreign Host names, cross-site writes and non-JSON bodies.
 */
import crypto from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { summarizeMail } from '../message/parse-mail.js';
import { parseFailureRule, type FailureRule } from '../config/failure-rules.js';
import { parseSmtpStageRules } from '../config/smtp-stage-rule.js';
import type { SmtpStageRules } from '../server/smtp-stage-rules.js';
import type { MessageStore } from '../store/message-store.js';
import type { EventLog } from '../events/event-log.js';
import { matches, readEvents, type EventFilter } from '../events/event-reader.js';
import type { OperationResult } from '../spool/queue-operations.js';
import { QUEUE_FOLDERS, type QueueFolder } from '../spool/spool.js';
import { registerMailRoutes } from './mail-routes.js';
import { OPENAPI } from './openapi.js';
import { guardRequest } from './request-guard.js';
import { checkCursor, parseQueueFilter, type QueueQuery } from '../queue/queue-query.js';
import type { QueueService } from '../queue/queue-service.js';
import type { RelayMetrics } from './relay-metrics.js';
import type { RelayConfig } from '../config/relay-config.js';
import type { SessionTranscripts } from '../server/session-transcripts.js';
import { isPagePath, registerPageRoutes } from './page-routes.js';
import { registerSessionRoutes } from './session-routes.js';
import { registerSettingsRoutes } from './settings-routes.js';

export interface AdminContext {
  queue: QueueService;
  events: EventLog;
  eventsFile: string;
  metrics: RelayMetrics;
  /** The message store (captured mail). */
  store: MessageStore | undefined;
  failureRules: () => readonly FailureRule[];
  setFailureRules: (rules: FailureRule[]) => void;
  /** The SMTP-stage rules in force (replaced with `set`). */
  smtpRules?: SmtpStageRules;
  /** Undefined when ready, else why not. */
  notReady: () => Promise<string | undefined>;
  token: string | undefined;
  /** Host names accepted besides IP literals (localhost and --admin-hosts); see request-guard.ts. */
  allowedHosts: ReadonlySet<string>;
  transcripts: SessionTranscripts;
  config: RelayConfig;
}

const STATUS: Record<string, number> = { 'not-found': 404, conflict: 409, 'bad-request': 400 };

function sendResult(reply: FastifyReply, result: OperationResult): FastifyReply {
  if (result.ok) return reply.send(result);
  return reply.code(STATUS[result.status] ?? 400).send({ error: result.message });
}

function tokenMatches(header: string | undefined, token: string): boolean {
  const given = Buffer.from(/^Bearer (.+)$/i.exec(header ?? '')?.[1] ?? '');
  const expected = Buffer.from(token);
  return given.length === expected.length && crypto.timingSafeEqual(given, expected);
}

function intParam(value: unknown, fallback: number, min: number, max: number): number | undefined {
  if (value === undefined) return fallback;
  const n = Number(value);
  return Number.isInteger(n) && n >= min && n <= max ? n : undefined;
}

export function buildAdminServer(ctx: AdminContext): FastifyInstance {
  const app = Fastify({ logger: false });
  // an action route needs no body: `curl -X POST -H 'content-type: application/json' …/retry`
  // sends none, which fastify's own JSON parser refuses (FST_ERR_CTP_EMPTY_JSON_BODY)
  const json = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) =>
    (body as string).trim() === '' ? done(null, undefined) : json(req, body as string, done),
  );

  app.addHook('onRequest', async (request, reply) => {
    const refusal = guardRequest(request, ctx.token ? undefined : ctx.allowedHosts);
    if (refusal) return reply.code(refusal.status).send({ error: refusal.error });
    const open = request.url === '/healthz' || request.url === '/readyz' || isPagePath(request.url);
    if (ctx.token && !open && !tokenMatches(request.headers.authorization, ctx.token)) {
      return reply
        .code(401)
        .header('www-authenticate', 'Bearer')
        .send({ error: 'missing or wrong admin token (Authorization: Bearer <token>)' });
    }
  });

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    const reason = await ctx.notReady();
    return reason ? reply.code(503).send({ status: 'not ready', reason }) : { status: 'ready' };
  });
  app.get('/metrics', async (_req, reply) => {
    const { contentType, text } = await ctx.metrics.render();
    return reply.header('content-type', contentType).send(text);
  });
  app.get('/api/v1/openapi.json', async () => OPENAPI);
  registerPageRoutes(app, (header) => (ctx.token ? tokenMatches(header, ctx.token) : undefined));
  registerSessionRoutes(app, ctx.transcripts);
  registerSettingsRoutes(app, ctx.config);

  app.get<{
    Querystring: QueueQuery & { folder?: string; offset?: string; limit?: string; cursor?: string };
  }>('/api/v1/messages', async (req, reply) => {
    const folder = (req.query.folder ?? 'in') as QueueFolder;
    if (!QUEUE_FOLDERS.includes(folder))
      return reply.code(400).send({ error: `folder must be one of ${QUEUE_FOLDERS.join(', ')}` });
    const limit = intParam(req.query.limit, 50, 1, 1000);
    if (limit === undefined) return reply.code(400).send({ error: 'limit must be 1..1000' });
    const filter = parseQueueFilter(req.query);
    if (typeof filter === 'string') return reply.code(400).send({ error: filter });
    const badCursor = checkCursor(req.query.cursor);
    if (badCursor) return reply.code(400).send({ error: badCursor });
    if (req.query.offset !== undefined) {
      // the older offset paging: reads the folder's names for every page
      const offset = intParam(req.query.offset, 0, 0, Number.MAX_SAFE_INTEGER);
      if (offset === undefined) return reply.code(400).send({ error: 'offset must be >= 0' });
      const page = await ctx.queue.list(folder, { offset, limit });
      return { folder, offset, limit, ...page };
    }
    const page = await ctx.queue.page(folder, {
      limit,
      filter,
      ...(req.query.cursor ? { cursor: req.query.cursor } : {}),
    });
    return { folder, limit, ...page };
  });
  app.get<{ Querystring: QueueQuery & { folder?: string } }>('/api/v1/messages/count', async (req, reply) => {
    const folder = (req.query.folder ?? 'in') as QueueFolder;
    if (!QUEUE_FOLDERS.includes(folder))
      return reply.code(400).send({ error: `folder must be one of ${QUEUE_FOLDERS.join(', ')}` });
    const filter = parseQueueFilter(req.query);
    if (typeof filter === 'string') return reply.code(400).send({ error: filter });
    return { folder, count: await ctx.queue.count(folder, filter) };
  });
  app.get<{ Params: { id: string } }>('/api/v1/messages/:id', async (req, reply) => {
    const result = await ctx.queue.show(req.params.id);
    return result.ok
      ? result.detail
      : reply.code(STATUS[result.status] ?? 400).send({ error: result.message });
  });
  app.get<{ Params: { id: string } }>('/api/v1/messages/:id/raw', async (req, reply) => {
    const result = await ctx.queue.raw(req.params.id);
    if (!result.ok) return reply.code(STATUS[result.status] ?? 400).send({ error: result.message });
    return reply.header('content-type', 'message/rfc822').send(result.raw);
  });
  for (const op of ['retry', 'replay', 'hold', 'release'] as const) {
    app.post<{ Params: { id: string } }>(`/api/v1/messages/:id/${op}`, async (req, reply) =>
      sendResult(reply, await ctx.queue[op](req.params.id)),
    );
  }
  app.delete<{ Params: { id: string } }>('/api/v1/messages/:id', async (req, reply) =>
    sendResult(reply, await ctx.queue.delete(req.params.id)),
  );

  const eventFilter = (q: { id?: string; since?: string; limit?: string }): EventFilter | string => {
    const filter: EventFilter = {};
    if (q.id !== undefined) {
      if (!/^\d+$/.test(q.id)) return 'id must be an event ID such as 3041';
      filter.id = Number(q.id);
    }
    if (q.since !== undefined) {
      const since = new Date(q.since);
      if (Number.isNaN(since.getTime())) return 'since must be a time such as 2026-11-21T12:00:00Z';
      filter.since = since;
    }
    const limit = intParam(q.limit, 1000, 1, 100_000);
    if (limit === undefined) return 'limit must be 1..100000';
    filter.limit = limit;
    return filter;
  };
  app.get<{ Querystring: { id?: string; since?: string; limit?: string } }>(
    '/api/v1/events',
    async (req, reply) => {
      const filter = eventFilter(req.query);
      if (typeof filter === 'string') return reply.code(400).send({ error: filter });
      ctx.events.flush(); // the events of this process so far are in the file before it is read
      return { events: await readEvents(ctx.eventsFile, filter) };
    },
  );
  app.get<{ Querystring: { id?: string } }>('/api/v1/events/stream', (req, reply) => {
    const filter = eventFilter(req.query);
    if (typeof filter === 'string') {
      void reply.code(400).send({ error: filter });
      return;
    }
    delete filter.limit;
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
    });
    res.write(': ims-relay events\n\n');
    const stop = ctx.events.subscribe((event) => {
      if (matches(event, filter))
        res.write(`id: ${event.time}\nevent: ${event.id}\ndata: ${JSON.stringify(event)}\n\n`);
    });
    const ping = setInterval(() => res.write(': ping\n\n'), 15_000);
    req.raw.on('close', () => {
      clearInterval(ping);
      stop();
    });
  });

  registerMailRoutes(app, ctx.store);
  // mailboxes are views of the store: the messages whose envelope names the address
  app.get('/api/v1/mailboxes', async () => ({ mailboxes: ctx.store?.index.mailboxes() ?? [] }));
  app.get<{ Params: { address: string } }>('/api/v1/mailboxes/:address/messages', async (req) => {
    const store = ctx.store;
    const rows = store ? store.index.all({ to: req.params.address }) : [];
    const parsed = await Promise.all(
      rows.map(async (m) => ({
        id: m.id,
        queueId: m.queueId,
        ...(await summarizeMail(store!.read(m.id) ?? Buffer.alloc(0), 4000)),
      })),
    );
    return { mailbox: req.params.address.toLowerCase(), messages: parsed };
  });

  app.get('/api/v1/failure-rules', async () => ({ rules: ctx.failureRules().map((r) => r.source) }));
  app.put<{ Body: { rules?: unknown } }>('/api/v1/failure-rules', async (req, reply) => {
    const rules = req.body?.rules;
    if (!Array.isArray(rules) || !rules.every((r) => typeof r === 'string')) {
      return reply.code(400).send({ error: 'body must be { "rules": ["PATTERN=CODE TEXT", ...] }' });
    }
    const parsed: FailureRule[] = [];
    for (const source of rules as string[]) {
      const rule = parseFailureRule(source);
      if (typeof rule === 'string') return reply.code(400).send({ error: rule });
      parsed.push(rule);
    }
    ctx.setFailureRules(parsed);
    return { rules: parsed.map((r) => r.source) };
  });

  app.get('/api/v1/smtp-rules', async () => ({
    rules: (ctx.smtpRules?.list() ?? []).map((r) => r.source),
  }));
  app.put<{ Body: { rules?: unknown } }>('/api/v1/smtp-rules', async (req, reply) => {
    const rules = req.body?.rules;
    if (!Array.isArray(rules) || !rules.every((r) => typeof r === 'string')) {
      return reply.code(400).send({ error: 'body must be { "rules": ["STAGE[:MATCHER]=ACTION", ...] }' });
    }
    const parsed = parseSmtpStageRules(rules as string[]);
    if (typeof parsed === 'string') return reply.code(400).send({ error: parsed });
    ctx.smtpRules?.set(parsed);
    return { rules: parsed.map((r) => r.source) };
  });

  return app;
}
