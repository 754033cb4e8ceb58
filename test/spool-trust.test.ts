/**
 * The spool trusts nothing it reads (DESIGN: "no symlink is followed, only regular files are
 * taken, and a queue ID is a path only when it matches the file's own name"). Each case plants the
 * real thing — a symbolic link, a FIFO made with mkfifo, a directory, a sparse file, a forged
 * envelope — in pickup/ or in/ of a running relay, and checks that it goes to bad/ (mode 0600)
 * with a clear 4116 and that the scan and the queue go on.
 */
import { execFileSync } from 'node:child_process';
import { capturedFiles } from './helpers/captured.js';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { QueueService } from '../src/queue/queue-service.js';
import { encodeEntry } from '../src/spool/entry-format.js';
import type { Envelope } from '../src/message/envelope.js';
import { QueueIdGenerator } from '../src/spool/queue-id.js';
import { startTestRelay, tempDir, type TestRelay } from './helpers/test-relay.js';
import { waitFor } from './helpers/wait-for.js';

let relay: TestRelay | undefined;
afterEach(async () => {
  await relay?.stop();
  relay = undefined;
});

const ids = new QueueIdGenerator();

function envelope(to: string, overrides: Partial<Envelope> = {}): Envelope {
  return {
    version: 1,
    queueId: ids.next(),
    arrivedAt: new Date().toISOString(),
    sender: 'a@example.test',
    recipients: [{ address: to }],
    dsn: {},
    bodyType: '7bit',
    smtpUtf8: false,
    source: 'smtp',
    ...overrides,
  };
}

const entryBytes = (e: Envelope) =>
  encodeEntry(e, Buffer.from(`Subject: ${String(e.queueId)}\r\n\r\nbody\r\n`));
const pickupFile = (to: string) =>
  `X-Sender: <app@example.test>\r\nX-Receiver: <${to}>\r\n\r\nSubject: hi\r\n\r\nbody\r\n`;
const mailbox = (r: TestRelay, address: string) => capturedFiles(r.spool.dir, address);

async function capture(extra: Record<string, string> = {}): Promise<TestRelay> {
  // pickup/ is scanned only when the test says so
  relay = await startTestRelay({ mode: 'capture', pickupInterval: '1h', ...extra });
  return relay;
}

/** The 4116 events so far, for pickup files (by file name) or entries (by queue ID). */
function quarantined(r: TestRelay) {
  return r
    .eventsSeen()
    .filter((e) => e.id === 4116)
    .map((e) => ({ queueId: e.queueId, ...(e.data as { file?: string; reason: string; movedTo?: string }) }));
}

const mode = (file: string) => fs.lstatSync(file).mode & 0o777;

describe('pickup/ trusts nothing', () => {
  it('does not follow a symbolic link to a file outside the spool; the link goes to bad/', async () => {
    const r = await capture();
    const outside = path.join(tempDir(), 'secret.eml');
    fs.writeFileSync(outside, pickupFile('thief@example.test'));
    fs.symlinkSync(outside, path.join(r.spool.folder('pickup'), 'link.eml'));
    fs.writeFileSync(path.join(r.spool.folder('pickup'), 'z-fine.eml'), pickupFile('fine@example.test'));
    await r.scanPickup();
    const [q] = quarantined(r);
    expect(q?.file).toBe('link.eml');
    expect(q?.reason).toMatch(/symbolic link/);
    expect(fs.lstatSync(q!.movedTo!).isSymbolicLink()).toBe(true);
    expect(fs.readFileSync(outside, 'utf8')).toBe(pickupFile('thief@example.test')); // untouched
    await waitFor('the regular file delivered', () => mailbox(r, 'fine@example.test').length === 1);
    expect(mailbox(r, 'thief@example.test')).toEqual([]);
    // the queue tools do not follow it either
    const queue = new QueueService(r.spool, r.delivery);
    const id = path.basename(q!.movedTo!).slice(0, 22);
    const raw = await queue.raw(id);
    expect(raw.ok).toBe(false);
    const shown = await queue.show(id);
    expect(shown.ok && shown.detail.envelope.recipients).toEqual([]);
  });

  it('does not open a FIFO (it would block the scanner for good) nor a directory; the scan goes on', async () => {
    const r = await capture();
    const pickup = r.spool.folder('pickup');
    execFileSync('mkfifo', [path.join(pickup, 'a-fifo.eml')]);
    fs.mkdirSync(path.join(pickup, 'b-dir.eml'));
    fs.writeFileSync(path.join(pickup, 'c-fine.eml'), pickupFile('fine@example.test'));
    await r.scanPickup(); // resolves: nothing waits for a writer on the FIFO
    const q = quarantined(r);
    expect(q.map((x) => x.file)).toEqual(['a-fifo.eml', 'b-dir.eml']);
    expect(q[0]!.reason).toMatch(/a FIFO: only regular files/);
    expect(q[1]!.reason).toMatch(/a directory: only regular files/);
    expect(fs.lstatSync(q[0]!.movedTo!).isFIFO()).toBe(true);
    expect(mode(q[0]!.movedTo!)).toBe(0o600);
    expect(fs.readdirSync(pickup)).toEqual([]);
    await waitFor('the regular file delivered', () => mailbox(r, 'fine@example.test').length === 1);
    // listing bad/ and showing the FIFO do not block on it
    const queue = new QueueService(r.spool, r.delivery);
    expect((await queue.list('bad')).items.length).toBeGreaterThanOrEqual(2);
    expect((await queue.show(path.basename(q[0]!.movedTo!).slice(0, 22))).ok).toBe(true);
  });

  it('takes a file whose name is too long to be claimed to bad/ instead of failing every scan', async () => {
    const r = await capture();
    const pickup = r.spool.folder('pickup');
    const long = 'l'.repeat(240) + '.eml'; // 244 bytes: the file system takes it, the claim name would not
    fs.writeFileSync(path.join(pickup, long), pickupFile('long@example.test'));
    fs.writeFileSync(path.join(pickup, 'short.eml'), pickupFile('fine@example.test'));
    await r.scanPickup();
    await r.scanPickup(); // a second scan: nothing left to fail on
    expect(r.eventsSeen().filter((e) => e.id === 4131)).toEqual([]);
    const [q] = quarantined(r);
    expect(q?.file).toBe(long);
    expect(q?.reason).toMatch(/file name too long \(244 bytes\)/);
    expect(Buffer.byteLength(path.basename(q!.movedTo!))).toBeLessThanOrEqual(255);
    expect(mode(q!.movedTo!)).toBe(0o600);
    expect(fs.readdirSync(pickup)).toEqual([]);
    await waitFor('the other file delivered', () => mailbox(r, 'fine@example.test').length === 1);
  });

  it('refuses a bare CR in an X-Receiver line with a clear reason (no TypeError)', async () => {
    const r = await capture();
    const file = path.join(r.spool.folder('pickup'), 'cr.eml');
    fs.writeFileSync(
      file,
      'X-Receiver: <a@example.test>\rX-Receiver: <b@example.test>\r\n\r\nSubject: x\r\n\r\nbody\r\n',
    );
    fs.chmodSync(file, 0o644);
    await r.scanPickup();
    expect(r.eventsSeen().filter((e) => e.id === 4131)).toEqual([]);
    const [q] = quarantined(r);
    expect(q?.reason).toMatch(/^invalid X-Receiver: "<a@example.test>\\rX-Receiver: <b@example.test>"$/);
    expect(mode(q!.movedTo!)).toBe(0o600); // it was 0644
  });

  it('refuses a file over --max-message-size before reading it (a 4 GB sparse file goes to bad/ at once)', async () => {
    const r = await capture({ maxMessageSize: '1MB' });
    const file = path.join(r.spool.folder('pickup'), 'huge.eml');
    fs.writeFileSync(file, pickupFile('huge@example.test'));
    fs.truncateSync(file, 4 * 1024 ** 3); // sparse: reading it whole would take 4 GB of memory
    const rss = process.memoryUsage().rss;
    await r.scanPickup();
    const [q] = quarantined(r);
    expect(q?.reason).toBe(`${4 * 1024 ** 3} bytes, over --max-message-size (1048576 bytes)`);
    expect(process.memoryUsage().rss - rss).toBeLessThan(256 * 1024 ** 2);
    expect(fs.readdirSync(r.spool.folder('in'))).toEqual([]);
    expect(mailbox(r, 'huge@example.test')).toEqual([]);
    fs.rmSync(q!.movedTo!);
  });
});

describe('in/ trusts nothing', () => {
  it('does not follow a symbolic link to an entry outside the spool; it goes to bad/ and is not delivered', async () => {
    const r = await capture();
    const e = envelope('thief@example.test');
    const outside = path.join(tempDir(), `${e.queueId}.imsr`);
    fs.writeFileSync(outside, entryBytes(e));
    fs.symlinkSync(outside, r.spool.entryPath('in', e.queueId));
    r.delivery!.enqueue('in', e.queueId);
    await waitFor('bad/', () => fs.existsSync(r.spool.entryPath('bad', e.queueId)));
    const [q] = await waitFor('4116', () => (quarantined(r).length > 0 ? quarantined(r) : undefined));
    expect(q?.queueId).toBe(e.queueId);
    expect(q?.reason).toMatch(/symbolic link \(not followed\)/);
    expect(fs.lstatSync(r.spool.entryPath('bad', e.queueId)).isSymbolicLink()).toBe(true);
    expect(mailbox(r, 'thief@example.test')).toEqual([]);
    expect(fs.readFileSync(outside)).toEqual(entryBytes(e).subarray(0, fs.statSync(outside).size)); // untouched
  });

  it('does not open a FIFO in in/; the next entry is delivered', async () => {
    const r = await capture();
    const fifo = ids.next();
    execFileSync('mkfifo', [r.spool.entryPath('in', fifo)]);
    const fine = envelope('fine@example.test');
    fs.writeFileSync(r.spool.entryPath('in', fine.queueId), entryBytes(fine));
    r.delivery!.enqueue('in', fifo);
    r.delivery!.enqueue('in', fine.queueId);
    await waitFor('the regular entry delivered', () => mailbox(r, 'fine@example.test').length === 1);
    const [q] = await waitFor('4116', () => (quarantined(r).length > 0 ? quarantined(r) : undefined));
    expect(q?.queueId).toBe(fifo);
    expect(q?.reason).toMatch(/is a FIFO, not a regular file/);
    expect(fs.lstatSync(r.spool.entryPath('bad', fifo)).isFIFO()).toBe(true);
  });

  it('never uses a forged queue ID from inside an entry as a path', async () => {
    const r = await capture();
    const escape = path.join(tempDir(), 'escaped');
    fs.mkdirSync(escape);
    // the envelope names a queue ID that walks out of the message store; the file has a proper name
    const fileId = ids.next();
    const forged = envelope('victim@example.test', {
      queueId: path.relative(path.join(r.spool.dir, 'store', 'messages'), escape) + '/x',
    });
    fs.writeFileSync(r.spool.entryPath('in', fileId), entryBytes(forged));
    // and one whose name and envelope agree but are not a queue ID
    const odd = envelope('odd@example.test', { queueId: 'not-a-queue-id' });
    fs.writeFileSync(r.spool.entryPath('in', 'not-a-queue-id'), entryBytes(odd));
    fs.chmodSync(r.spool.entryPath('in', fileId), 0o644);
    r.delivery!.enqueue('in', fileId);
    r.delivery!.enqueue('in', 'not-a-queue-id');
    await waitFor('both in bad/', () => quarantined(r).length === 2);
    const q = quarantined(r);
    expect(q.find((x) => x.queueId === fileId)?.reason).toMatch(
      /the envelope's queue ID .* is not the file's name/,
    );
    expect(q.find((x) => x.queueId === 'not-a-queue-id')?.reason).toMatch(/is not a queue ID/);
    expect(fs.readdirSync(escape)).toEqual([]);
    expect(mailbox(r, 'victim@example.test')).toEqual([]);
    expect(mode(r.spool.entryPath('bad', fileId))).toBe(0o600); // it was 0644
  });

  it('quarantines an entry whose journal is a directory or a symbolic link instead of looping on EISDIR', async () => {
    const r = await capture();
    const dirJournal = envelope('one@example.test');
    const linkJournal = envelope('two@example.test');
    const fine = envelope('fine@example.test');
    for (const e of [dirJournal, linkJournal, fine])
      fs.writeFileSync(r.spool.entryPath('in', e.queueId), entryBytes(e));
    fs.mkdirSync(r.spool.journalPath('in', dirJournal.queueId));
    const target = path.join(tempDir(), 'elsewhere.journal');
    fs.symlinkSync(target, r.spool.journalPath('in', linkJournal.queueId));
    for (const e of [dirJournal, linkJournal, fine]) r.delivery!.enqueue('in', e.queueId);
    await waitFor('both in bad/', () => quarantined(r).length === 2);
    const q = quarantined(r);
    expect(q.find((x) => x.queueId === dirJournal.queueId)?.reason).toMatch(
      /journal cannot be used \(EISDIR\)/,
    );
    expect(q.find((x) => x.queueId === linkJournal.queueId)?.reason).toMatch(
      /journal cannot be used \(ELOOP\)/,
    );
    expect(fs.existsSync(target)).toBe(false); // nothing written through the link
    expect(fs.statSync(r.spool.journalPath('bad', dirJournal.queueId)).isDirectory()).toBe(true);
    await waitFor('the other delivered', () => mailbox(r, 'fine@example.test').length === 1);
    expect(r.eventsSeen().filter((e) => e.id === 4131)).toEqual([]);
  });
});
