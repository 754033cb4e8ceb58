/**
 * The queue filter and page of a request, from query parameters (the admin API) or flags (the
 * CLI, which sends them on as query parameters): `sender`, `recipient`, `olderThan`, `newerThan`
 * (durations such as 90s, 2h, 3d) and `held` (true or false).
 */
import { parseDuration } from '../config/duration.js';
import type { QueueFilter } from '../spool/queue-listing.js';
import { isQueueId } from '../spool/queue-id.js';

export interface QueueQuery {
  sender?: string;
  recipient?: string;
  olderThan?: string;
  newerThan?: string;
  held?: string;
}

/** The filter, or a message saying which parameter is wrong. */
export function parseQueueFilter(q: QueueQuery): QueueFilter | string {
  const filter: QueueFilter = {};
  if (q.sender !== undefined) filter.sender = q.sender;
  if (q.recipient !== undefined) filter.recipient = q.recipient;
  for (const key of ['olderThan', 'newerThan'] as const) {
    const value = q[key];
    if (value === undefined) continue;
    const ms = parseDuration(value);
    if (ms === undefined) return `${key} must be a duration such as 90s, 2h or 3d`;
    filter[key === 'olderThan' ? 'olderThanMs' : 'newerThanMs'] = ms;
  }
  if (q.held !== undefined) {
    if (q.held !== 'true' && q.held !== 'false') return 'held must be true or false';
    filter.held = q.held === 'true';
  }
  return filter;
}

/** The query string of a filter, for the CLI talking to a running relay. */
export function queueFilterQuery(q: QueueQuery): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v !== undefined) params.set(k, String(v));
  const text = params.toString();
  return text ? `&${text}` : '';
}

export function checkCursor(cursor: string | undefined): string | undefined {
  return cursor === undefined || isQueueId(cursor)
    ? undefined
    : 'cursor must be a queue ID (the nextCursor of a page)';
}
