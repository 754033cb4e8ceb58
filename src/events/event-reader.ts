/**
 * Reads the events file back: filtered by event ID and time, for `ims-relay events` and the admin
 * API. Lines that are not valid JSON (a torn last line) are skipped.
 */
import fs from 'node:fs';
import readline from 'node:readline';
import type { RelayEvent } from './event-log.js';

export interface EventFilter {
  id?: number;
  /** Only events at or after this time. */
  since?: Date;
  /** At most this many, the latest ones. */
  limit?: number;
}

export function matches(event: RelayEvent, filter: EventFilter): boolean {
  if (filter.id !== undefined && event.id !== filter.id) return false;
  if (filter.since && new Date(event.time) < filter.since) return false;
  return true;
}

export async function readEvents(file: string, filter: EventFilter = {}): Promise<RelayEvent[]> {
  if (!fs.existsSync(file)) return [];
  const out: RelayEvent[] = [];
  const lines = readline.createInterface({ input: fs.createReadStream(file, 'utf8'), crlfDelay: Infinity });
  for await (const line of lines) {
    if (!line) continue;
    let event: RelayEvent;
    try {
      event = JSON.parse(line) as RelayEvent;
    } catch {
      continue;
    }
    if (!matches(event, filter)) continue;
    out.push(event);
    if (filter.limit !== undefined && out.length > filter.limit) out.shift();
  }
  return out;
}
