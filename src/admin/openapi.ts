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
const mailId = {
  name: 'id',
  in: 'path',
  required: true,
  description: 'a captured message: `<queue id>.<n>`',
  schema: { type: 'string', pattern: '^[0-9A-F]{11}-[0-9A-F]{5}-[0-9A-F]{4}\\.[1-9][0-9]{0,5}$' },
};
const mailFilters = [
  {
    name: 'to',
    in: 'query',
    description: 'an envelope recipient (exact address, any case)',
    schema: { type: 'string' },
  },
  {
    name: 'from',
    in: 'query',
    description: 'part of the envelope sender or From: (any case)',
    schema: { type: 'string' },
  },
  { name: 'subject', in: 'query', description: 'part of the subject (any case)', schema: { type: 'string' } },
  {
    name: 'q',
    in: 'query',
    description:
      'full text over subject, addresses and text body: every word must match; `word*` is a prefix',
    schema: { type: 'string' },
  },
  {
    name: 'tag',
    in: 'query',
    description: 'a tag (X-Ims-Relay-Tag header, or +tag of the recipient when tags from addresses are on)',
    schema: { type: 'string' },
  },
  {
    name: 'queueId',
    in: 'query',
    description:
      'the captures of this queue entry and the delivery reports about it (their X-Ims-Relay-Queue-ID field)',
    schema: { type: 'string' },
  },
  {
    name: 'since',
    in: 'query',
    description:
      'captured at or after: a time (2026-12-03T10:00:00Z), ms since 1970, or a duration back (10m)',
    schema: { type: 'string' },
  },
  {
    name: 'report',
    in: 'query',
    description: 'delivery reports only (true) or none (false)',
    schema: { type: 'boolean' },
  },
];
const mailSummary =
  '{ id, queueId, from, sender, subject, date (captured), headerDate, size, recipientCount, recipients (first 5), tags, report, reportedQueueId? (a report: the queue ID of the message it reports on), attachments (count) }';
const noMail = { '404': { description: 'no such captured message' }, '401': errors['401'] };
const action = (summary: string) => ({
  post: {
    summary,
    parameters: [id],
    responses: {
      ...ok('done: { ok, queueId, folder, message }'),
      ...errors,
      '403': { description: 'a write from another origin (Origin or Sec-Fetch-Site)' },
      '415': { description: 'a body that is not application/json' },
    },
  },
});

/** The queue filters of GET /api/v1/messages and /api/v1/messages/count. */
const FILTERS = [
  {
    name: 'sender',
    in: 'query',
    description: 'part of the sender (<> for the null sender)',
    schema: { type: 'string' },
  },
  { name: 'recipient', in: 'query', description: 'part of any recipient', schema: { type: 'string' } },
  {
    name: 'olderThan',
    in: 'query',
    description: 'arrived at least this long ago, e.g. 2h',
    schema: { type: 'string' },
  },
  {
    name: 'newerThan',
    in: 'query',
    description: 'arrived at most this long ago, e.g. 10m',
    schema: { type: 'string' },
  },
  { name: 'held', in: 'query', schema: { type: 'boolean' } },
];

export const OPENAPI = {
  openapi: '3.1.0',
  info: {
    title: 'ims-relay admin API',
    version: '1',
    description:
      'Spool, events (1130/1131 on the stream say when mail is captured or deleted), captured mail, failure rules and health of a running ims-relay. When an admin token is configured, every request needs `Authorization: Bearer <token>`. Without a token, a Host that is not localhost, an IP address or one of --admin-hosts gets 421 (DNS rebinding). A POST, PUT, PATCH or DELETE from another origin (Origin, Sec-Fetch-Site) gets 403, and one with a body that is not application/json gets 415; the action routes need no body.',
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
          { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 1000, default: 50 } },
          {
            name: 'cursor',
            in: 'query',
            description: 'the nextCursor of the previous page (a queue ID); absent for the first page',
            schema: { type: 'string' },
          },
          ...FILTERS,
          {
            name: 'offset',
            in: 'query',
            description: 'older paging (reads the whole folder listing per page); prefer cursor',
            schema: { type: 'integer', minimum: 0 },
          },
        ],
        responses: {
          ...ok(
            '{ folder, total, limit, nextCursor?, items: [ { queueId, folder, arrivedAt, sender, recipients, size, attempts, delivered, failed, deferred, held, retryAt?, lastError? } ] } — a filtered page may hold fewer than limit items and still have a nextCursor',
          ),
          ...errors,
        },
      },
    },
    '/api/v1/messages/count': {
      get: {
        summary: 'how many messages of a folder pass the filters (no filter or age only: no file is read)',
        parameters: [
          { name: 'folder', in: 'query', schema: { enum: ['in', 'out', 'bad', 'archive'], default: 'in' } },
          ...FILTERS,
        ],
        responses: { ...ok('{ folder, count }'), ...errors },
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
        summary:
          'server-sent events: every new event as `data: <json>` (1130: mail captured, 1131: mail deleted, 1132: mail pruned)',
        parameters: [{ name: 'id', in: 'query', schema: { type: 'integer' } }],
        responses: ok('text/event-stream'),
      },
    },
    '/api/v1/mail': {
      get: {
        summary: 'captured mail, newest first, filtered and paged by cursor',
        parameters: [
          ...mailFilters,
          { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 1000, default: 50 } },
          {
            name: 'cursor',
            in: 'query',
            description: 'the nextCursor of the page before',
            schema: { type: 'string' },
          },
        ],
        responses: {
          ...ok(`{ total, messages: [ ${mailSummary} ], nextCursor? }`),
          '400': { description: 'a filter, limit or cursor does not parse' },
          '401': errors['401'],
        },
      },
      delete: {
        summary: 'delete the captured messages matching the filters (all of them without any); event 1131',
        parameters: mailFilters,
        responses: {
          ...ok('{ deleted }'),
          '400': { description: 'a filter does not parse' },
          '401': errors['401'],
        },
      },
    },
    '/api/v1/mail/wait': {
      get: {
        summary:
          'long-poll: the oldest captured message matching the filters, at once if there is one, else the first captured before the timeout',
        parameters: [
          ...mailFilters,
          {
            name: 'timeout',
            in: 'query',
            description: 'up to 5m',
            schema: { type: 'string', default: '30s' },
          },
        ],
        responses: {
          ...ok(mailSummary),
          '400': { description: 'a filter or the timeout does not parse' },
          '401': errors['401'],
          '408': { description: 'no matching message was captured in time' },
        },
      },
    },
    '/api/v1/mail/{id}': {
      get: {
        summary:
          'one captured message: summary, headers, text, HTML (as given), attachments, paged recipients, report statuses',
        parameters: [
          mailId,
          { name: 'recipientsOffset', in: 'query', schema: { type: 'integer', minimum: 0, default: 0 } },
          {
            name: 'recipientsLimit',
            in: 'query',
            schema: { type: 'integer', minimum: 1, maximum: 10000, default: 100 },
          },
        ],
        responses: {
          ...ok(
            `${mailSummary} with recipients: { total, offset, limit, items }, to, cc, headers: [ { name, value } ], text, html, attachments: [ { n, filename, contentType, size, contentId, inline } ], reportStatuses: [ { recipient, action, status, diagnostic } ]`,
          ),
          ...noMail,
        },
      },
      delete: {
        summary: 'delete one captured message; event 1131',
        parameters: [mailId],
        responses: { ...ok('{ deleted: 1, id }'), ...noMail },
      },
    },
    '/api/v1/mail/{id}/raw': {
      get: {
        summary:
          'the message file (message/rfc822): Return-Path and Delivered-To lines, then the message as received',
        parameters: [mailId],
        responses: { ...ok('the message'), ...noMail },
      },
    },
    '/api/v1/mail/{id}/html': {
      get: {
        summary:
          "the HTML part, served with Content-Security-Policy: default-src 'none' (no scripts, no remote content), sandboxed",
        parameters: [mailId],
        responses: { ...ok('text/html'), ...noMail },
      },
    },
    '/api/v1/mail/{id}/attachments/{n}': {
      get: {
        summary: 'attachment n (from 0, as listed in the message view), with its type and file name',
        parameters: [
          mailId,
          { name: 'n', in: 'path', required: true, schema: { type: 'integer', minimum: 0 } },
        ],
        responses: { ...ok('the attachment'), ...noMail },
      },
    },
    '/api/v1/mailboxes': {
      get: {
        summary: 'recipient addresses with captured mail and their message counts (views of the store)',
        responses: ok('{ mailboxes: [ { mailbox, messages } ] }'),
      },
    },
    '/api/v1/mailboxes/{address}/messages': {
      get: {
        summary: 'the captured messages whose envelope names the address, parsed',
        parameters: [{ name: 'address', in: 'path', required: true, schema: { type: 'string' } }],
        responses: ok('{ mailbox, messages: [ { id, queueId, subject, from, to, date, text } ] }'),
      },
    },
    '/api/v1/sessions': {
      get: {
        summary:
          'transcripts of the last SMTP sessions (the sessionTranscripts setting), newest first; runs of RCPT with the same reply are one step with a count',
        parameters: [
          { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1 } },
          { name: 'queueId', in: 'query', schema: { type: 'string' } },
        ],
        responses: ok(
          '{ capacity, sessions: [ { id, client: { address, port }, startedAt, endedAt?, queueIds, omitted, steps: [ { command?, replies, count, lastCommand?, lastReply? } ] } ] }',
        ),
      },
    },
    '/api/v1/sessions/{id}': {
      get: {
        summary: 'one session transcript',
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        responses: { ...ok('the transcript'), '404': { description: 'not among the sessions kept' } },
      },
    },
    '/api/v1/settings': {
      get: {
        summary: 'the settings the relay runs with (the admin token only as set/none)',
        responses: ok('{ settings: [ { key, flag, value, default, description } ] }'),
      },
    },
    '/api/v1/auth': {
      get: {
        summary: 'whether a token is needed and whether the one sent is right (always 200; the page uses it)',
        security: [],
        responses: ok('{ required, accepted }'),
      },
    },
    '/': {
      get: {
        summary: 'the web page (no token needed for the page itself; it asks for one)',
        security: [],
        responses: ok('text/html'),
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
