/**
 * The lines of `queue list`: a table row per item, or its JSON document's items. Used by the
 * command (queue-command.ts) and by the worker thread that formats the batches it reads
 * (walk-worker.ts), so that the text comes out the same whichever thread read an entry.
 */
import type { QueueItem } from '../spool/queue-operations.js';

export type ListFormat = 'table' | 'json';

export const TABLE_HEADER =
  'QUEUE ID                ARRIVED                    SIZE        RCPTS  DONE/FAIL/DEF  SENDER                        STATE\n';

export function formatItem(i: QueueItem): string {
  const state = i.pickupFile
    ? `quarantined pickup file ${i.pickupFile}`
    : i.held
      ? 'held'
      : i.deferred > 0
        ? `deferred: ${i.lastError ?? ''}`
        : i.retryAt
          ? `retry ${i.retryAt}`
          : '';
  return [
    i.queueId,
    i.arrivedAt.replace(/\.\d+Z$/, 'Z'),
    String(i.size).padStart(9),
    `${i.recipients} rcpt`.padStart(11),
    `${i.delivered}/${i.failed}/${i.deferred}`.padStart(11),
    (i.sender || '<>').padEnd(28),
    state,
  ]
    .join('  ')
    .trimEnd();
}

/**
 * The text of a run of items: table rows, each ending in a newline; or the items' JSON documents
 * separated by `,\n` (the caller puts the separator before the run: see `ListPrinter`).
 */
export function formatItems(items: readonly QueueItem[], format: ListFormat): string {
  let text = '';
  if (format === 'table') for (const i of items) text += formatItem(i) + '\n';
  else for (let k = 0; k < items.length; k++) text += (k === 0 ? '' : ',\n') + JSON.stringify(items[k]);
  return text;
}

/** The answer of `queue list --count`. */
export function countLine(folder: string, count: number, json: boolean): string {
  return json ? JSON.stringify({ folder, count }) + '\n' : `${count}\n`;
}
