/**
 * The full-text rows of captures are written many at a time (store-index.ts, `indexText`): a
 * capture's text waits in memory until captures pause, much is waiting, or a full-text query
 * comes. These tests hold the store to what that must not change: a query sees every message
 * captured before it, a deleted message leaves no text behind, and text lost with the process
 * (a crash before the write) is written again from the files when the store opens.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { EVENTS } from '../events/catalogue.js';
import { EventLog, type RelayEvent } from '../events/event-log.js';
import { MessageStore, type StoreOptions } from './message-store.js';
import { StoreIndex } from './store-index.js';

const STORE_REPAIRED = EVENTS.storeRepaired.id;
const open: MessageStore[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) await s.close().catch(() => undefined);
});

const queueId = (n: number) => `1A23B726A26-00000-${String(n).padStart(4, '0')}`;
const mail = (subject: string, body: string) =>
  Buffer.from(`From: <sender@example.test>\r\nSubject: ${subject}\r\n\r\n${body}\r\n`);

async function openStore(dir: string, options: StoreOptions = {}): Promise<MessageStore> {
  const s = await MessageStore.open(dir, options);
  open.push(s);
  return s;
}

function tempStore(): string {
  return path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ims-text-')), 'store');
}

/** Full-text rows matching `word`, counted by a second connection (as another process sees the file). */
function textRowsFor(dir: string, word: string): number {
  const db = new Database(path.join(dir, 'index.sqlite'), { readonly: true });
  try {
    return (
      db.prepare('SELECT count(*) AS n FROM message_text WHERE message_text MATCH ?').get(word) as {
        n: number;
      }
    ).n;
  } finally {
    db.close();
  }
}

const allSeqs = (dir: string) => read(dir, 'SELECT seq FROM messages ORDER BY seq');
const allTextRows = (dir: string) => read(dir, 'SELECT rowid FROM message_text ORDER BY rowid');
function read(dir: string, sql: string): unknown[] {
  const db = new Database(path.join(dir, 'index.sqlite'), { readonly: true });
  try {
    return db.prepare(sql).pluck().all();
  } finally {
    db.close();
  }
}

async function captureMany(s: MessageStore, count: number, word: (i: number) => string): Promise<void> {
  for (let i = 0; i < count; i++) {
    const result = await s.capture({
      queueId: queueId(i + 1),
      sender: 'sender@example.test',
      recipients: [`r${i}@example.test`],
      message: mail(`message ${i}`, `the body says ${word(i)}`),
    });
    expect(result.ok).toBe(true);
  }
}

describe('full-text rows written many at a time', () => {
  it('a full-text query sees a capture made just before it, though its row was still waiting', async () => {
    const dir = tempStore();
    const s = await openStore(dir);
    await captureMany(s, 3, (i) => `zebra${i}`);
    // waiting in memory: the file holds the messages but not their text yet
    expect(s.index.textPending().messages).toBe(3);
    expect(textRowsFor(dir, 'zebra1')).toBe(0);
    expect(s.list({ to: 'r1@example.test' }, 10).total).toBe(1);
    // the query writes them first
    expect(s.list({ q: 'zebra1' }, 10).rows.map((r) => r.id)).toEqual([`${queueId(2)}.1`]);
    expect(s.index.textPending().messages).toBe(0);
    expect(textRowsFor(dir, 'zebra1')).toBe(1);
  });

  it('writes the waiting rows once captures pause, without a query', async () => {
    const dir = tempStore();
    const s = await openStore(dir);
    await captureMany(s, 4, (i) => `quiet${i}`);
    expect(textRowsFor(dir, 'quiet3')).toBe(0);
    const deadline = Date.now() + 10_000;
    while (textRowsFor(dir, 'quiet3') === 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    expect(textRowsFor(dir, 'quiet3')).toBe(1);
    expect(s.index.textPending().messages).toBe(0);
  });

  it('a message deleted while its text waits leaves no full-text row', async () => {
    const dir = tempStore();
    const s = await openStore(dir);
    await captureMany(s, 2, (i) => `gone${i}`);
    expect(await s.delete([`${queueId(1)}.1`])).toEqual([`${queueId(1)}.1`]);
    expect(s.list({ q: 'gone1' }, 10).total).toBe(1);
    expect(s.index.textPending().messages).toBe(0);
    expect(textRowsFor(dir, 'gone0')).toBe(0);
    expect(textRowsFor(dir, 'gone1')).toBe(1);
  });

  it('text lost with the process is written again from the files when the store opens', async () => {
    const dir = tempStore();
    const s = await openStore(dir);
    await captureMany(s, 5, (i) => `crash${i}`);
    expect(s.index.textPending().messages).toBe(5);
    // the process dies: the database is left without the rows in memory (a SIGKILL does the same)
    s.index.db.close();
    await s.close();
    open.pop();
    expect(textRowsFor(dir, 'crash4')).toBe(0);

    const seen: RelayEvent[] = [];
    const events = new EventLog({ logLevel: 'silent' });
    events.subscribe((e) => seen.push(e));
    const again = await openStore(dir, { events });
    const repaired = seen.find((e) => e.id === STORE_REPAIRED);
    expect(repaired?.data).toMatchObject({ indexed: 0, dropped: 0, textRestored: 5 });
    expect(repaired?.message).toContain('full text of 5 written again');
    for (let i = 0; i < 5; i++) expect(textRowsFor(dir, `crash${i}`)).toBe(1);
    expect(again.list({ q: 'crash2' }, 10).rows.map((r) => r.id)).toEqual([`${queueId(3)}.1`]);
    expect(allTextRows(dir)).toEqual(allSeqs(dir));
    // and a clean close writes what waits: nothing to restore at the next open
    const late = await again.capture({
      queueId: queueId(99),
      sender: 'sender@example.test',
      recipients: ['late@example.test'],
      message: mail('late', 'the body says late'),
    });
    expect(late.ok).toBe(true);
    expect(textRowsFor(dir, 'late')).toBe(0);
    await again.close();
    open.pop();
    expect(textRowsFor(dir, 'late')).toBe(1);
  });

  it('text lost with the process is written again even when the same start indexes files the index lacked', async () => {
    const dir = tempStore();
    const s = await openStore(dir);
    await captureMany(s, 4, (i) => `torn${i}`);
    // a crash between a capture's rename and its index row: a file the index lacks
    const orphan = `${queueId(50)}.1`;
    fs.copyFileSync(s.fileOf(`${queueId(1)}.1`), s.fileOf(orphan));
    s.index.db.close();
    await s.close();
    open.pop();

    const again = await openStore(dir);
    expect(again.index.get(orphan)).toBeDefined();
    expect(allTextRows(dir)).toEqual(allSeqs(dir));
    expect(allSeqs(dir)).toHaveLength(5);
    expect(again.list({ q: 'torn3' }, 10).total).toBe(1);
  });

  it('a message deleted by another process while its text waits leaves no text under its seq, reused or not', async () => {
    const dir = tempStore();
    const s = await openStore(dir);
    await captureMany(s, 3, (i) => `elsewhere${i}`);
    const newest = `${queueId(3)}.1`;
    const seq = s.index.get(newest)!.seq;
    // `ims-relay mailbox delete` beside the running relay: its own connection to the index
    const other = new StoreIndex(path.join(dir, 'index.sqlite'));
    expect(other.delete([newest])).toEqual([newest]);
    other.close();
    // the next capture takes the freed seq (the highest one)
    const next = await s.capture({
      queueId: queueId(60),
      sender: 'sender@example.test',
      recipients: ['n@example.test'],
      message: mail('next', 'the body says successor'),
    });
    expect(next.ok && next.stored?.id).toBe(`${queueId(60)}.1`);
    expect(s.index.get(`${queueId(60)}.1`)!.seq).toBe(seq);
    expect(s.list({ q: 'elsewhere2' }, 10).total).toBe(0);
    expect(s.list({ q: 'successor' }, 10).rows.map((r) => r.id)).toEqual([`${queueId(60)}.1`]);
    expect(s.list({ q: 'elsewhere1' }, 10).total).toBe(1);
  });
});
