import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { DirectCapture } from '../delivery/direct-capture.js';
import { EventLog } from '../events/event-log.js';
import type { Envelope } from '../message/envelope.js';
import { Spool } from '../spool/spool.js';
import { MessageStore } from '../store/message-store.js';
import { HeldBytes, IntakeWriter } from './intake-writer.js';

const stores: MessageStore[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
});

async function setUp() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ims-intake-'));
  const spool = Spool.open(path.join(dir, 'spool'));
  const store = await MessageStore.open(path.join(dir, 'spool', 'store'));
  stores.push(store);
  const events = new EventLog({
    destination: new Writable({ write: (_c, _e, cb) => cb() }),
    logLevel: 'silent',
  });
  const direct = new DirectCapture(store, events, { failureRules: () => [] });
  const envelope = (): Envelope => ({
    version: 1,
    queueId: spool.newQueueId(),
    arrivedAt: new Date().toISOString(),
    sender: 's@example.test',
    recipients: [{ address: 'r@example.test' }],
    dsn: {},
    bodyType: '7bit',
    smtpUtf8: false,
    source: 'smtp',
    client: { address: '127.0.0.1', port: 1, helo: 'x' },
  });
  return { spool, store, direct, envelope };
}

const body = (bytes: number) => Buffer.from(`Subject: s\r\n\r\n${'x'.repeat(bytes - 14)}`);

describe('IntakeWriter', () => {
  it('holds messages for the direct capture within the per-message bound and the shared budget, else streams to the spool', async () => {
    const { spool, store, direct, envelope } = await setUp();
    const budget = new HeldBytes(1000);
    const make = (env: Envelope) => new IntakeWriter(() => spool.createEntry(env), env, direct, 800, budget);

    const a = envelope();
    const writerA = make(a);
    writerA.write(body(600));
    expect(writerA.isDirect).toBe(true);
    expect(budget.inUse).toBe(600);

    // a second message would pass the budget (600 + 600 > 1000): to the spool, with what it held
    const b = envelope();
    const writerB = make(b);
    writerB.write(body(300));
    expect(writerB.isDirect).toBe(true);
    writerB.write(body(300));
    expect(writerB.isDirect).toBe(false);
    expect(budget.inUse).toBe(600);

    // one over the per-message bound (800) goes to the spool too
    const c = envelope();
    const writerC = make(c);
    writerC.write(body(500));
    writerC.write(body(500));
    expect(writerC.isDirect).toBe(false);

    expect(await writerA.commit()).toBe('captured');
    expect(await writerB.commit()).toBe('queued');
    expect(await writerC.commit()).toBe('queued');
    expect(budget.inUse).toBe(0);
    expect(store.list({ queueId: a.queueId }, 10).total).toBe(1);
    expect(store.list({ queueId: b.queueId }, 10).total).toBe(0);
    const queued = fs.readdirSync(spool.folder('in')).sort();
    expect(queued).toEqual([`${b.queueId}.imsr`, `${c.queueId}.imsr`].sort());
    // the spool entry holds every byte written, the part held first included
    expect(fs.statSync(path.join(spool.folder('in'), `${b.queueId}.imsr`)).size).toBeGreaterThan(600);

    // a discarded message gives its share back
    const d = make(envelope());
    d.write(body(400));
    expect(budget.inUse).toBe(400);
    await d.discard();
    expect(budget.inUse).toBe(0);
  });
});
