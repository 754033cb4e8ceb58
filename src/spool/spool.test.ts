import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeEntry } from './entry-format.js';
import type { Envelope } from '../message/envelope.js';
import { Spool } from './spool.js';
import { acquireSpoolLock } from './spool-lock.js';

const tmpSpool = () => fs.mkdtempSync(path.join(os.tmpdir(), 'ims-spool-'));

function envelopeFor(spool: Spool): Envelope {
  return {
    version: 1,
    queueId: spool.newQueueId(),
    arrivedAt: new Date().toISOString(),
    sender: 'a@example.test',
    recipients: [{ address: 'b@example.test' }, { address: 'c@example.test', notify: ['NEVER'] }],
    dsn: { envid: 'xyz' },
    bodyType: '8bitmime',
    smtpUtf8: false,
    source: 'smtp',
  };
}

describe('Spool', () => {
  it('creates its folders with mode 0700', () => {
    const dir = tmpSpool();
    Spool.open(dir);
    for (const f of ['pickup', 'in', 'out', 'bad', 'archive', 'log', 'tmp']) {
      expect(fs.statSync(path.join(dir, f)).mode & 0o777).toBe(0o700);
    }
  });

  it('commits an entry atomically: nothing in in/ before commit, a complete 0600 entry after', async () => {
    const spool = Spool.open(tmpSpool());
    const env = envelopeFor(spool);
    const writer = spool.createEntry(env);
    writer.write(Buffer.from('Subject: one\r\n\r\n'));
    writer.write(Buffer.from('body\r\n'));
    expect(await spool.list('in')).toEqual([]);
    await writer.commit();
    expect(await spool.list('in')).toEqual([env.queueId]);
    expect(fs.readdirSync(spool.folder('tmp'))).toEqual([]);
    const file = spool.entryPath('in', env.queueId);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const decoded = decodeEntry(fs.readFileSync(file));
    expect(decoded.ok && decoded.envelope).toEqual(env);
    expect(decoded.ok && decoded.message.toString()).toBe('Subject: one\r\n\r\nbody\r\n');
  });

  it('discard leaves nothing behind', async () => {
    const spool = Spool.open(tmpSpool());
    const writer = spool.createEntry(envelopeFor(spool));
    writer.write(Buffer.from('Subject: x\r\n\r\n'));
    await new Promise((r) => setTimeout(r, 20));
    await writer.discard();
    expect(fs.readdirSync(spool.folder('tmp'))).toEqual([]);
    expect(await spool.list('in')).toEqual([]);
  });

  it('commits many entries concurrently (group commit of the folder fsync)', async () => {
    const spool = Spool.open(tmpSpool());
    const envs = Array.from({ length: 50 }, () => envelopeFor(spool));
    await Promise.all(
      envs.map(async (env) => {
        const w = spool.createEntry(env);
        w.end(Buffer.from(`Subject: ${env.queueId}\r\n\r\n`));
        await w.commit();
      }),
    );
    expect(await spool.list('in')).toEqual(envs.map((e) => e.queueId).sort());
  });

  it('recover removes leftovers of a crash from tmp/', async () => {
    const spool = Spool.open(tmpSpool());
    fs.writeFileSync(path.join(spool.folder('tmp'), 'half-written.imsr'), 'IMSR/1 10\n{"ver');
    const report = await spool.recover();
    expect(report.removed).toEqual(['half-written.imsr']);
    expect(fs.readdirSync(spool.folder('tmp'))).toEqual([]);
  });

  it('recover puts a journal left behind by an interrupted move back with its entry, and drops orphans', async () => {
    const spool = Spool.open(tmpSpool());
    const env = envelopeFor(spool);
    const w = spool.createEntry(env);
    w.end(Buffer.from('Subject: moved\r\n\r\n'));
    await w.commit();
    const journal = await spool.openJournal('in', env.queueId);
    await journal.append([{ t: 'attempt', n: 1, at: new Date(0).toISOString() }]);
    await journal.close();
    // a crash between the two renames of a move: the entry is in archive/, its journal still in in/
    fs.renameSync(spool.entryPath('in', env.queueId), spool.entryPath('archive', env.queueId));
    fs.writeFileSync(spool.journalPath('in', '19A8F3C2B7E-00009-0000'), '{"t":"attempt","n":1}\n');
    const report = await spool.recover();
    expect(report.journalsRepaired.sort()).toEqual(
      [`in/19A8F3C2B7E-00009-0000.journal`, `in/${env.queueId}.journal`].sort(),
    );
    expect((await spool.readJournal('archive', env.queueId)).attempts).toBe(1);
    expect(fs.readdirSync(spool.folder('in'))).toEqual([]);
  });

  it('reports free space', async () => {
    const spool = Spool.open(tmpSpool());
    expect(await spool.freeBytes()).toBeGreaterThan(0);
  });
});

describe('acquireSpoolLock', () => {
  it('lets one owner in, refuses a second, and takes over a stale lock', () => {
    const dir = tmpSpool();
    const first = acquireSpoolLock(dir);
    expect(first.ok).toBe(true);
    // a lock file naming a live process other than us (our parent) refuses
    fs.writeFileSync(path.join(dir, 'ims-relay.pid'), `${process.ppid}\n`);
    const second = acquireSpoolLock(dir);
    expect(second.ok).toBe(false);
    expect(!second.ok && second.message).toContain(`PID ${process.ppid}`);
    // a dead PID is stale
    fs.writeFileSync(path.join(dir, 'ims-relay.pid'), '999999999\n');
    const third = acquireSpoolLock(dir);
    expect(third.ok).toBe(true);
    if (third.ok) third.release();
    expect(fs.existsSync(path.join(dir, 'ims-relay.pid'))).toBe(false);
  });
});
