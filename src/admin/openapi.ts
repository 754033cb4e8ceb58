/** The OpenAPI 3.1 document of the admin API, served at /api/v1/openapi.json. */
const id = {
  name: 'id',
  in: 'path',
  required: true,
  schema: { type: 'string', pattern: '^[0-9A-F]{11}-[0-9A-F]{5}-[0-9A-F]{4}$' },
};
const ok = (description: string) => ({ '200': { description } });
const errors = {
  '400': { description: 'bad request (e.g. not a queue ID)' },
  '401': { description: 'missing or wrong bearer token' },
  '404': { description: 'no such message' },
  '409': {
    description: 'the message is in a folder where this does not apply, or being delivered right now',
  },
};
const action = (summary: string) => ({
  post: {
    summary,
    parameters: [id],
    responses: { ...ok('done: { ok, queueId, folder, message }'), ...errors },
  },
});

export const OPENAPI = {
  openapi: '3.1.0',
  info: {
    title: 'ims-relay admin API',
    version: '1',
    description:
      'Spool, events, capture-mode mailboxes, failure rules and health of a running ims-relay. When an admin token is configured, every request needs `Authorization: Bearer <token>`.',
  },
  components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
  security: [{ bearer: [] }],
  paths: {
    '/healthz': {
      get: {
        summary: 'liveness: 200 while the process serves',
        security: [],
        responses: ok('{ status: "ok" }'),
      },
    },
    '/readyz': {
      get: {
        summary: 'readiness: 200 when SMTP listens and the spool has room, else 503',
        security: [],
        responses: { ...ok('ready'), '503': { description: 'not ready, with the reason' } },
      },
    },
    '/metrics': { get: { summary: 'Prometheus metrics (text format)', responses: ok('metrics') } },
    '/api/v1/messages': {
      get: {
        summary: 'messages in a spool folder, oldest first, paged',
        parameters: [
          { name: 'folder', in: 'query', schema: { enum: ['in', 'out', 'bad', 'archive'], default: 'in' } },
          { name: 'offset', in: 'query', schema: { type: 'integer', minimum: 0, default: 0 } },
          { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 1000, default: 50 } },
        ],
        responses: {
          ...ok(
            '{ folder, total, offset, limit, items: [ { queueId, folder, arrivedAt, sender, recipients, size, attempts, delivered, failed, deferred, held, retryAt?, lastError? } ] }',
          ),
          ...errors,
        },
      },
    },
    '/api/v1/messages/{id}': {
      get: {
        summary: 'one message: summary, envelope, per-recipient state, parsed headers and text',
        parameters: [id],
        responses: { ...ok('detail'), ...errors },
      },
      delete: {
        summary: 'delete the message from its folder',
        parameters: [id],
        responses: { ...ok('deleted'), ...errors },
      },
    },
    '/api/v1/messages/{id}/raw': {
      get: {
        summary: 'the message source (message/rfc822)',
        parameters: [id],
        responses: { ...ok('the message'), ...errors },
      },
    },
    '/api/v1/messages/{id}/retry': action('deliver a queued message now'),
    '/api/v1/messages/{id}/replay': action(
      'put a message from bad/ or archive/ back into in/ for a new delivery',
    ),
    '/api/v1/messages/{id}/hold': action('keep a queued message from being delivered'),
    '/api/v1/messages/{id}/release': action('release a held message'),
    '/api/v1/events': {
      get: {
        summary: 'events from the event log',
        parameters: [
          { name: 'id', in: 'query', schema: { type: 'integer' } },
          { name: 'since', in: 'query', schema: { type: 'string', format: 'date-time' } },
          { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, default: 1000 } },
        ],
        responses: ok(
          '{ events: [ { time, id, type, category, message, queueId?, data? } ] } (the latest `limit`)',
        ),
      },
    },
    '/api/v1/events/stream': {
      get: {
        summary: 'server-sent events: every new event as `data: <json>`',
        parameters: [{ name: 'id', in: 'query', schema: { type: 'integer' } }],
        responses: ok('text/event-stream'),
      },
    },
    '/api/v1/mailboxes': {
      get: {
        summary: 'capture-mode mailboxes and their message counts',
        responses: ok('{ mailboxes: [ { mailbox, messages } ] }'),
      },
    },
    '/api/v1/mailboxes/{address}/messages': {
      get: {
        summary: 'messages in one mailbox, parsed',
        parameters: [{ name: 'address', in: 'path', required: true, schema: { type: 'string' } }],
        responses: ok('{ mailbox, messages: [ { file, queueId, subject, from, to, date, text } ] }'),
      },
    },
    '/api/v1/failure-rules': {
      get: { summary: 'the failure rules in force', responses: ok('{ rules: [ "PATTERN=CODE TEXT" ] }') },
      put: {
        summary: 'replace the failure rules',
        requestBody: {
          content: {
            'application/json': {
              schema: {
                type: 'object',
                properties: { rules: { type: 'array', items: { type: 'string' } } },
                required: ['rules'],
              },
            },
          },
        },
        responses: { ...ok('{ rules }'), '400': { description: 'a rule does not parse; nothing changed' } },
      },
    },
    '/api/v1/smtp-rules': {
      get: {
        summary: 'the SMTP-stage rules in force',
        responses: ok('{ rules: [ "STAGE[:MATCHER]=ACTION" ] }'),
      },
      put: {
        summary: 'replace the SMTP-stage rules (their counts start again)',
        requestBody: {
          content: {
            'application/json': {
              schema: {
                type: 'object',
                properties: { rules: { type: 'array', items: { type: 'string' } } },
                required: ['rules'],
              },
            },
          },
        },
        responses: { ...ok('{ rules }'), '400': { description: 'a rule does not parse; nothing changed' } },
      },
    },
  },
} as const;
