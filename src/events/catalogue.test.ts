import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EVENTS } from './catalogue.js';
import { EventLog } from './event-log.js';

describe('event catalogue', () => {
  it('has unique IDs', () => {
    const ids = Object.values(EVENTS).map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('agrees with docs/events.md row by row', () => {
    const doc = fs.readFileSync(new URL('../../docs/events.md', import.meta.url), 'utf8');
    const rows = doc
      .split('\n')
      .filter((l) => /^\| \d{4} \|/.test(l))
      .map((l) => l.split('|').map((c) => c.trim()));
    expect(rows.map((r) => Number(r[1]))).toEqual(Object.values(EVENTS).map((e) => e.id));
    for (const e of Object.values(EVENTS)) {
      const row = rows.find((r) => Number(r[1]) === e.id)!;
      expect([row[2], row[3], row[4]]).toEqual([e.type, e.category, e.text]);
    }
  });

  it('keeps the IMS wording of 3041 (Q272672) with the default limit, and says the configured one', () => {
    const log = new EventLog({ logLevel: 'silent' });
    expect(log.emit('ndrRecipientsCapped', { data: { limit: 32766 } }).message).toBe(
      'Unable to deliver mail to all recipients. The total number of recipients exceeds 32766.',
    );
    expect(log.emit('ndrRecipientsCapped', { data: { limit: 2 } }).message).toBe(
      'Unable to deliver mail to all recipients. The total number of recipients exceeds 2.',
    );
  });
});
