/**
 * `queue list` on two threads (src/cli/parallel-walk.ts with its worker): the same items in the
 * same order as the single-threaded walk, on a real spool of several thousand entries with a torn
 * one, a damaged one and one whose head is longer than the first read. The worker runs from the
 * compiled build (dist/, built before the tests), as the command line runs it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeEntry } from '../src/spool/entry-format.js';
import type { Envelope } from '../src/message/envelope.js';
import { QueueIdGenerator } from '../src/spool/queue-id.js';
import { walkFolder, type QueueFilter } from '../src/spool/queue-listing.js';
import type { QueueItem } from '../src/spool/queue-operations.js';
import { Spool } from '../src/spool/spool.js';
import { formatItems, type ListFormat } from '../src/cli/queue-list-format.js';
import { runCli } from './helpers/relay-process.js';
import { tempDir } from './helpers/test-relay.js';

type ParallelWalk = typeof import('../src/cli/parallel-walk.js');
const built = (await import(
  path.resolve(import.meta.dirname, '../dist/cli/parallel-walk.js')
)) as ParallelWalk;

const COUNT = 6000;

/**
 * `count` entries in in/, one a second; every 5th from `odd@…`, every 3rd to `third@…`, every 4th
 * with a journal (every 8th held, every 12th deferred with a diagnostic). Entry 1234 is torn (cut in
 * its envelope), 2345 is not an entry at all, 3456 has 2,000 recipients (a head over 16 KB).
 */
function fill(dir: string, count: number): { ids: string[]; unreadable: string[] } {
  const spool = Spool.open(dir);
  const start = Date.now() - count * 1000;
  let i = 0;
  const gen = new QueueIdGenerator(() => start + i * 1000);
  const ids: string[] = [];
  for (i = 0; i < count; i++) {
    const queueId = gen.next();
    const many = i === 3456 ? 2000 : 1;
    const envelope: Envelope = {
      version: 1,
      queueId,
      arrivedAt: new Date(start + i * 1000).toISOString(),
      sender: i % 5 === 0 ? 'odd@example.test' : 'sender@example.test',
      recipients: Array.from({ length: many }, (_, r) => ({
        address: i % 3 === 0 ? `third${r}@example.test` : `user${i % 7}.${r}@example.test`,
      })),
      dsn: {},
      bodyType: '7bit',
      smtpUtf8: false,
      source: 'smtp',
    };
    const entry = encodeEntry(envelope, Buffer.from(`Subject: ${i}\r\n\r\n${'x'.repeat(i % 500)}\r\n`));
    const file = spool.entryPath('in', queueId);
    if (i === 1234) fs.writeFileSync(file, entry.subarray(0, 40));
    else if (i === 2345) fs.writeFileSync(file, 'not a spool entry\n');
    else fs.writeFileSync(file, entry);
    if (i % 4 === 0) {
      const at = new Date(start).toISOString();
      const lines = [
        { t: 'retry', at },
        ...(i % 8 === 0 ? [{ t: 'hold', at }] : []),
        ...(i % 12 === 0
          ? [{ t: 'deferred', address: envelope.recipients[0]!.address, diagnostic: `451 try ${i}`, at }]
          : []),
      ];
      fs.writeFileSync(spool.journalPath('in', queueId), lines.map((l) => JSON.stringify(l) + '\n').join(''));
    }
    ids.push(queueId);
  }
  return { ids, unreadable: [ids[1234]!, ids[2345]!] };
}

async function single(spool: Spool, filter: QueueFilter, now: number) {
  const items: QueueItem[] = [];
  const total = await walkFolder(spool, 'in', filter, (batch) => items.push(...batch), now);
  return { total, items };
}

/** The two-thread walk, forced on; its text in the given format, as the command prints it. */
async function twoThreads(
  spool: Pick<Spool, 'dir' | 'folder'>,
  filter: QueueFilter,
  now: number,
  format: ListFormat = 'table',
) {
  const texts: string[] = [];
  const counts: number[] = [];
  const done = await built.walkFolderInParallel(
    spool as Spool,
    'in',
    filter,
    format,
    (text, count) => {
      texts.push(text);
      counts.push(count);
    },
    now,
    { parallelFrom: 0, onlyWithIdleCore: false },
  );
  return { ...done, text: texts.join(format === 'json' ? ',\n' : ''), counts };
}

describe('queue list on two threads', () => {
  it('gives the items of the single-threaded walk, in order, for every filter; a torn or damaged entry is left out', async () => {
    expect(built.parallelWalkAvailable()).toBe(true);
    const dir = tempDir();
    const { ids, unreadable } = fill(dir, COUNT);
    const spool = Spool.open(dir);
    const now = Date.now();
    const filters: QueueFilter[] = [
      {},
      { sender: 'odd@' },
      { recipient: 'third' },
      { held: true },
      { held: false, olderThanMs: 1000 * 1000 },
      { newerThanMs: 2000 * 1000, sender: '<>' },
    ];
    for (const filter of filters) {
      const one = await single(spool, filter, now);
      for (const format of ['table', 'json'] as const) {
        const two = await twoThreads(spool, filter, now, format);
        expect(two.total).toBe(COUNT);
        expect(two.text).toBe(formatItems(one.items, format));
        // streamed a batch at a time, never the folder at once
        expect(Math.max(0, ...two.counts)).toBeLessThanOrEqual(500);
      }
    }
    const all = await twoThreads(spool, {}, now, 'json');
    expect(all.workerBatches).toBeGreaterThan(0); // the worker did read part of it
    const items = JSON.parse(`[${all.text}]`) as QueueItem[];
    expect(items.map((i) => i.queueId)).toEqual(ids.filter((id) => !unreadable.includes(id)));
    expect(items.find((i) => i.queueId === ids[3456])).toMatchObject({ recipients: 2000 });
    expect(items.filter((i) => i.held)).toHaveLength(COUNT / 8);
    expect(items.find((i) => i.queueId === ids[12])).toMatchObject({ deferred: 1, lastError: '451 try 12' });
  }, 120_000);

  it('reads on one thread what the worker could not (here: it cannot open the spool)', async () => {
    const dir = tempDir();
    fill(dir, 4500);
    const spool = Spool.open(dir);
    const now = Date.now();
    const notADir = path.join(tempDir(), 'a-file');
    fs.writeFileSync(notADir, '');
    // the worker is given a spool path it cannot create; this thread lists the real folder
    const broken = { dir: path.join(notADir, 'spool'), folder: spool.folder.bind(spool) };
    const two = await twoThreads(broken, {}, now);
    expect(two.workerBatches).toBe(0);
    expect(two.text).toBe(formatItems((await single(spool, {}, now)).items, 'table'));
  }, 60_000);

  it('ims-relay queue list prints the same lines, and the same JSON, as the single-threaded walk', async () => {
    const dir = tempDir();
    const { ids, unreadable } = fill(dir, COUNT);
    const spool = Spool.open(dir);
    const cli = async (args: string[]) => {
      const run = runCli(args);
      const code = await run.exited;
      return { code, out: run.stdout(), err: run.stderr() };
    };
    const table = await cli(['queue', 'list', '--spool', dir]);
    expect(table.code).toBe(0);
    const lines = table.out.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^QUEUE ID/);
    expect(lines.at(-1)).toBe(`in/: ${COUNT} messages`);
    expect(lines.slice(1, -1).map((l) => l.split(' ')[0])).toEqual(
      ids.filter((id) => !unreadable.includes(id)),
    );
    const json = await cli(['queue', 'list', '--json', '--held', '--spool', dir]);
    const doc = JSON.parse(json.out) as { items: QueueItem[]; total: number; shown: number };
    const expected = (await single(spool, { held: true }, Date.now())).items;
    expect(doc).toEqual({ folder: 'in', items: expected, total: COUNT, shown: expected.length });
  }, 120_000);
});
