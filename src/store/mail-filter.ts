/**
 * Which captured messages a list, a delete or a wait is about: the filters of
 * `GET /api/v1/mail`, `ims-relay mailbox` and the test API, and how query-string text becomes one.
 */
import { parseDuration } from '../config/duration.js';

export interface MailFilter {
  /** An envelope recipient (exact address, any case). */
  to?: string;
  /** Part of the envelope sender or the From: header (any case). */
  from?: string;
  /** Part of the subject (any case). */
  subject?: string;
  /** Full-text query over subject, addresses and text body: words (all must match), `word*` prefixes. */
  q?: string;
  tag?: string;
  /** Captures of this queue entry, and the delivery reports about it. */
  queueId?: string;
  /** Captured at or after this time (ms since the epoch). */
  since?: number;
  /** Delivery reports only (true) or no reports (false). */
  report?: boolean;
}

export const FILTER_KEYS = ['to', 'from', 'subject', 'q', 'tag', 'queueId', 'since', 'report'] as const;

/**
 * A filter from query-string values; a string says what is wrong. `since` is a time
 * (2026-12-03T10:00:00Z), milliseconds since the epoch, or a duration back from now (`10m`).
 */
export function parseMailFilter(query: Record<string, unknown>, now = Date.now()): MailFilter | string {
  const filter: MailFilter = {};
  for (const key of ['to', 'from', 'subject', 'q', 'tag', 'queueId'] as const) {
    const v = query[key];
    if (v === undefined) continue;
    if (typeof v !== 'string' || v.trim() === '') return `${key} must be a non-empty text`;
    filter[key] = v.trim();
  }
  if (query.since !== undefined) {
    const v = String(query.since).trim();
    let at: number | undefined;
    if (/^\d{10,}$/.test(v)) at = Number(v);
    else if (/^\d+(\.\d+)?\s*[a-z]+$/i.test(v)) {
      const back = parseDuration(v);
      at = back === undefined ? undefined : now - back;
    } else {
      const t = Date.parse(v);
      at = Number.isNaN(t) ? undefined : t;
    }
    if (at === undefined)
      return 'since must be a time (2026-12-03T10:00:00Z), milliseconds since 1970, or a duration back from now (10m)';
    filter.since = at;
  }
  if (query.report !== undefined) {
    const v = String(query.report).toLowerCase();
    if (v !== 'true' && v !== 'false') return 'report must be true or false';
    filter.report = v === 'true';
  }
  return filter;
}

/**
 * The FTS5 query for free text: every word quoted (so that no input is FTS5 syntax), all required;
 * a word ending in `*` is a prefix. Undefined when there is no word.
 */
export function fullTextQuery(text: string): string | undefined {
  const words = text
    .split(/\s+/)
    .map((w) => w.trim())
    .filter(Boolean);
  const terms = words
    .map((w) => {
      const prefix = w.endsWith('*');
      const bare = (prefix ? w.slice(0, -1) : w).replace(/"/g, '""');
      if (bare === '') return '';
      return `"${bare}"${prefix ? '*' : ''}`;
    })
    .filter(Boolean);
  return terms.length === 0 ? undefined : terms.join(' AND ');
}
