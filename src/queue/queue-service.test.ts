import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeEntry } from '../spool/entry-format.js';
import type { Envelope } from '../message/envelope.js';
import { QueueIdGenerator } from '../spool/queue-id.js';
import { summarize, type QueueItem } from '../spool/queue-operations.js';
import { Spool } from '../spool/spool.js';
import { QueueService, type QueueScheduler } from './queue-service.js';

const tmpSpool = () => fs.mkdtempSync(path.join(os.tmpdir(), 'ims-queue-'));

/**
 * Writes `count` entries into in/ with real spool files, one a second; every 7th has a journal
 * (every 14th of all held), every 500th is big: a head of 1,200 recipients (more than the first
 * read of a listing) and a message of 40 KB. Returns the IDs, oldest first.
 */
function fill(spool: Spool, count: number): string[] {
  const start = Date.now() - count * 1000;
  let i = 0;
  const gen = new QueueIdGenerator(() => start + i * 1000);
  const ids: string[] = [];
  for (i = 0; i < count; i++) {
    const queueId = gen.next();
    const big = i % 500 === 0;
    const envelope: Envelope = {
      version: 1,
      queueId,
      arrivedAt: new Date(start + i * 1000).toISOString(),
      sender: i % 5 === 0 ? 'odd@example.test' : 'sender@example.test',
      recipients: Array.from({ length: big ? 1200 : 1 }, (_, k) => ({
        address: `user${k}-${i % 3}@example.test`,
      })),
      dsn: {},
      bodyType: '7bit',
      smtpUtf8: false,
      source: 'smtp',
    };
    const message = Buffer.from(`Subject: ${i}\r\n\r\n${big ? 'x'.repeat(40_000) : 'body'}\r\n`);
    fs.writeFileSync(spool.entryPath('in', queueId), encodeEntry(envelope, message));
    if (i % 7 === 0) {
      const at = new Date(start).toISOString();
      const lines = [{ t: 'retry', at }, ...(i % 14 === 0 ? [{ t: 'hold', at }] : [])];
      fs.writeFileSync(spool.journalPath('in', queueId), lines.map((l) => JSON.stringify(l) + '\n').join(''));
    }
    ids.push(queueId);
  }
  return ids;
}

describe('QueueService', () => {
  it('walks a folder of a few thousand entries oldest first, in batches, each item as the single-entry summary says', async () => {
    const spool = Spool.open(tmpSpool());
    const ids = fill(spool, 3000);
    const service = new QueueService(spool);
    const batches: QueueItem[][] = [];
    const total = await service.walk('in', {}, (items) => batches.push(items));
    expect(total).toBe(3000);
    // streamed: handed over a thousand at a time, not the folder at once
    expect(batches.map((b) => b.length)).toEqual([1000, 1000, 1000]);
    const items = batches.flat();
    expect(items.map((i) => i.queueId)).toEqual(ids);
    // the listing reads less than the single-entry summary does, and says the same
    for (const k of [0, 1, 7, 14, 500, 1000, 2999])
      expect(items[k]).toEqual(await summarize(spool, 'in', ids[k]!));
    expect(items[500]).toMatchObject({ recipients: 1200, size: 40_000 + 'Subject: 500\r\n\r\n\r\n'.length });
    expect(items.filter((i) => i.held).map((i) => i.queueId)).toEqual(ids.filter((_, i) => i % 14 === 0));
    expect(items.filter((i) => i.retryAt).length).toBe(ids.filter((_, i) => i % 7 === 0).length);
  });

  it('filters a walk and counts by sender, recipient and held; entries gone or damaged are left out', async () => {
    const spool = Spool.open(tmpSpool());
    const ids = fill(spool, 1000);
    const service = new QueueService(spool);
    const walk = async (filter: Parameters<QueueService['walk']>[1]) => {
      const seen: string[] = [];
      await service.walk('in', filter, (items) => seen.push(...items.map((i) => i.queueId)));
      return seen;
    };
    expect(await walk({ sender: 'ODD@' })).toEqual(ids.filter((_, i) => i % 5 === 0));
    expect(await walk({ recipient: '-2@' })).toEqual(ids.filter((_, i) => i % 3 === 2));
    // a recipient far into a big head (past the first read) is found
    expect(await walk({ recipient: 'user1199-' })).toEqual(ids.filter((_, i) => i % 500 === 0));
    expect(await walk({ held: true })).toEqual(ids.filter((_, i) => i % 14 === 0));
    expect(await service.count('in', { held: false })).toBe(1000 - ids.filter((_, i) => i % 14 === 0).length);
    expect(await service.count('in')).toBe(1000);

    fs.writeFileSync(spool.entryPath('in', ids[3]!), 'not an entry');
    fs.rmSync(spool.entryPath('in', ids[4]!));
    const seen = await walk({});
    expect(seen).toEqual(ids.filter((_, i) => i !== 3 && i !== 4));
  });

  it('pages after a cursor from a kept snapshot and still sees a journal written after it was taken', async () => {
    const spool = Spool.open(tmpSpool());
    const ids = fill(spool, 1500);
    const service = new QueueService(spool);
    const first = await service.page('in', { limit: 500 });
    expect(first.items.map((i) => i.queueId)).toEqual(ids.slice(0, 500));
    const second = await service.page('in', { limit: 500, cursor: first.nextCursor! });
    expect(second.items.map((i) => i.queueId)).toEqual(ids.slice(500, 1000));
    // the snapshot of the folder's names is kept; a hold written now shows on the next page
    const target = ids[1001]!;
    expect(second.items.some((i) => i.queueId === target)).toBe(false);
    expect((await service.hold(target)).ok).toBe(true);
    const third = await service.page('in', { limit: 500, cursor: second.nextCursor! });
    expect(third.items.map((i) => i.queueId)).toEqual(ids.slice(1000));
    expect(third.items.find((i) => i.queueId === target)?.held).toBe(true);
    expect(third.nextCursor).toBeUndefined();
  });

  it("orders a snapshot as the IDs' text, and lets it go once its last page is read: the next listing sees what arrived", async () => {
    const spool = Spool.open(tmpSpool());
    const ids = fill(spool, 1200);
    // two more entries in the same millisecond and sequence as one of them: only the random part differs
    const [time, seq] = ids[700]!.split('-');
    for (const random of ['0000', 'FFFF'])
      fs.copyFileSync(spool.entryPath('in', ids[700]!), spool.entryPath('in', `${time}-${seq}-${random}`));
    const service = new QueueService(spool);
    const listAll = async () => {
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await service.page('in', { limit: 500, ...(cursor ? { cursor } : {}) });
        seen.push(...page.items.map((i) => i.queueId));
        cursor = page.nextCursor;
      } while (cursor);
      return seen;
    };
    const all = [...ids, `${time}-${seq}-0000`, `${time}-${seq}-FFFF`].sort();
    expect(await listAll()).toEqual(all);
    // an entry that arrives after that listing is on a later page than the first: a kept snapshot
    // (its 30 s are not over) would leave it out
    const newest = (Date.now() + 1000).toString(16).toUpperCase().padStart(11, '0') + '-00000-0000';
    fs.copyFileSync(spool.entryPath('in', ids[0]!), spool.entryPath('in', newest));
    expect(await listAll()).toEqual([...all, newest]);
  });

  it('tells the scheduler it is given about the operations that change what is delivered', async () => {
    const spool = Spool.open(tmpSpool());
    const ids = fill(spool, 20);
    const told: string[] = [];
    const scheduler: QueueScheduler = {
      enqueue: (folder, queueId) => told.push(`enqueue ${folder} ${queueId}`),
      cancel: (queueId) => told.push(`cancel ${queueId}`),
      isActive: (queueId) => queueId === ids[5],
    };
    const service = new QueueService(spool, scheduler);
    expect(await service.hold(ids[1]!)).toMatchObject({ ok: true });
    expect(await service.release(ids[1]!)).toMatchObject({ ok: true });
    expect(await service.retry(ids[2]!)).toMatchObject({ ok: true });
    expect(await service.delete(ids[3]!)).toMatchObject({ ok: true });
    // one being delivered right now is neither held nor deleted
    expect(await service.hold(ids[5]!)).toMatchObject({ ok: false, status: 'conflict' });
    expect(await service.delete(ids[5]!)).toMatchObject({ ok: false, status: 'conflict' });
    expect(told).toEqual([
      `cancel ${ids[1]}`,
      `enqueue in ${ids[1]}`,
      `enqueue in ${ids[2]}`,
      `cancel ${ids[3]}`,
    ]);
    expect(fs.existsSync(spool.entryPath('in', ids[3]!))).toBe(false);
  });
});
