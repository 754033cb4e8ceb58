/**
 * The message store over thousands of messages: the repair at open reads `messages/` a batch of
 * names at a time (never every name at once) and still finds each file the index lacks and each
 * row whose file is gone; retention removes messages a batch at a time, so a stop of the relay
 * does not wait for 90,000 removals, and leaves the index agreeing with the files.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EventLog, type RelayEvent } from '../src/events/event-log.js';
import { readEvents } from '../src/events/event-reader.js';
import { MessageStore } from '../src/store/message-store.js';
import { StoreIndex } from '../src/store/store-index.js';
import { filesAndRows, fillStore, filledId } from './helpers/filled-store.js';
import { startRelayProcess } from './helpers/relay-process.js';
import { tempDir } from './helpers/test-relay.js';
import { waitFor } from './helpers/wait-for.js';

function eventLog(seen: RelayEvent[]): EventLog {
  const log = new EventLog({ logLevel: 'silent' });
  log.subscribe((e) => seen.push(e));
  return log;
}

/** The spool's events of one ID, read with the reader `ims-relay events` uses. */
const eventsInFile = (spool: string, id: number) =>
  readEvents(path.join(spool, 'log', 'events.jsonl'), { id });

const made: string[] = [];
afterEach(() => {
  for (const dir of made.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});
/** A temporary folder, removed after the test (a store of 20,000 files is 80 MB). */
const scratch = () => {
  const dir = tempDir('ims-store-scale-');
  made.push(dir);
  return dir;
};

const messageFiles = (storeDir: string) => fs.readdirSync(path.join(storeDir, 'messages')).length;

describe('message store at scale', () => {
  it('repairs a store of 3,500 messages across the batches of its walk: files the index lacks, rows whose file is gone, orphan sidecars', async () => {
    const dir = path.join(scratch(), 'store');
    const ids = fillStore(dir, 3_500);
    // rows whose file is gone: in the first, second and last batch of names (1,990 and 3,400 with a sidecar)
    for (const k of [3, 1_990, 3_400]) fs.rmSync(path.join(dir, 'messages', `${ids[k]}.eml`));
    // files the index lacks (a crash between the file and the commit): rows dropped from the index
    const index = new StoreIndex(path.join(dir, 'index.sqlite'));
    const unindexed = [ids[7]!, ids[2_500]!]; // 2,500 has a sidecar, which must be kept
    index.delete(unindexed);
    index.close();
    // a sidecar whose message file never made it into messages/
    const orphan = `${filledId(9_999)}.rcpt`;
    fs.writeFileSync(path.join(dir, 'envelopes', orphan), 'a@example.test\nb@example.test\n');

    const seen: RelayEvent[] = [];
    const s = await MessageStore.open(dir, { events: eventLog(seen) });
    try {
      expect(seen.find((e) => e.id === 1133)?.data).toMatchObject({ indexed: 2, dropped: 3, rebuilt: false });
      const { files, rows } = filesAndRows(dir);
      expect(rows).toEqual(files);
      expect(files).toHaveLength(3_497);
      expect(s.index.capturedRecipients(unindexed[1]!.slice(0, -2))).toEqual(
        new Map([
          ['user0@example.test', unindexed[1]],
          ['also@example.test', unindexed[1]],
        ]),
      );
      const sidecars = fs.readdirSync(path.join(dir, 'envelopes'));
      expect(sidecars).not.toContain(orphan);
      expect(sidecars).toContain(`${ids[2_500]}.rcpt`);
      expect(sidecars).not.toContain(`${ids[3_400]}.rcpt`); // its message file is gone
      expect(sidecars).toHaveLength(348); // every 10th of 3,500, less those of 1,990 and 3,400
    } finally {
      await s.close();
    }
    // a second open finds nothing to repair
    seen.length = 0;
    const again = await MessageStore.open(dir, { events: eventLog(seen) });
    await again.close();
    expect(seen.filter((e) => e.id === 1133)).toEqual([]);
  }, 60_000);

  it('prunes more than a batch down to the limit, and a close during the pruning stops it with the index agreeing with the files', async () => {
    const dir = path.join(scratch(), 'store');
    fillStore(dir, 1_600);
    const seen: RelayEvent[] = [];
    const retention = { messages: 100, ageMs: undefined, bytes: undefined };
    let s = await MessageStore.open(dir, {
      events: eventLog(seen),
      retention,
      retentionIntervalMs: 3_600_000,
    });
    // open() started the pruning; closing at once stops it after the file being removed
    await s.close();
    let { files, rows } = filesAndRows(dir);
    expect(rows).toEqual(files);
    expect(files.length).toBeGreaterThan(100);
    expect(seen.filter((e) => e.id === 1132).map((e) => e.data!.pruned)).toEqual([1_600 - files.length]);

    // an open without a stop prunes all the way, several batches in one run (one event)
    const before = files.length;
    seen.length = 0;
    s = await MessageStore.open(dir, { events: eventLog(seen), retention, retentionIntervalMs: 3_600_000 });
    try {
      await s.prune(); // the run that open() started
      ({ files, rows } = filesAndRows(dir));
      expect(rows).toEqual(files);
      expect(files).toEqual(Array.from({ length: 100 }, (_, i) => filledId(1_500 + i))); // the newest 100
      expect(fs.readdirSync(path.join(dir, 'envelopes'))).toHaveLength(10);
      expect(seen.filter((e) => e.id === 1133)).toEqual([]);
      expect(seen.filter((e) => e.id === 1132).map((e) => e.data!.pruned)).toEqual([before - 100]);
    } finally {
      await s.close();
    }
  }, 60_000);

  it('a relay started over 20,000 messages with --retain-messages 100 answers SIGTERM during the pruning without finishing it, and restarts with the index agreeing with the files', async () => {
    const spool = scratch();
    const dir = path.join(spool, 'store');
    const N = 20_000;
    fillStore(dir, N);
    const relay = await startRelayProcess(['--spool', spool, '--retain-messages', '100']);
    let remaining: number;
    try {
      // the pruning of the start is under way (about 2,000 removals a second here: many seconds)
      await waitFor('the first messages pruned', () => messageFiles(dir) < N, 30_000);
    } finally {
      relay.child.kill('SIGTERM');
      expect(await relay.exited).toBe(0);
      remaining = messageFiles(dir);
    }
    // the stop did not wait for the 19,900 removals: the store still holds more than the limit
    expect(remaining).toBeGreaterThan(100);
    expect(remaining).toBeLessThan(N);
    const pruned = await eventsInFile(spool, 1132);
    expect(pruned.map((e) => e.data!.pruned)).toEqual([N - remaining]);
    const { files, rows } = filesAndRows(dir);
    expect(rows).toEqual(files);

    // a restart finds nothing to repair (no event 1133), and the API counts what is on disk
    const again = await startRelayProcess(['--spool', spool, '--retain-messages', '0']);
    try {
      const api = /admin API (http:\/\/[0-9.:]+)/.exec(again.stdout())![1]!;
      const page = (await (await fetch(`${api}/api/v1/mail?limit=1`)).json()) as { total: number };
      expect(page.total).toBe(remaining);
      expect(await eventsInFile(spool, 1133)).toEqual([]);
    } finally {
      again.child.kill('SIGTERM');
      await again.exited;
    }
  }, 120_000);
});
