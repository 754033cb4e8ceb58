import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { EventLog, type RelayEvent } from '../events/event-log.js';
import { MessageStore, type StoreOptions } from './message-store.js';

const Q1 = '1A23B726A26-00000-0001';
const Q2 = '1A23B726A26-00000-0002';
const Q3 = '1A23B726A26-00000-0003';

const open: MessageStore[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) await s.close().catch(() => undefined);
});

function tempStore(): string {
  return path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ims-store-')), 'store');
}

function eventLog(seen: RelayEvent[]): EventLog {
  const log = new EventLog({
    destination: new Writable({ write: (_c, _e, cb) => cb() }),
    logLevel: 'silent',
  });
  log.subscribe((e) => seen.push(e));
  return log;
}

async function openStore(dir: string, options: StoreOptions = {}): Promise<MessageStore> {
  const s = await MessageStore.open(dir, options);
  open.push(s);
  return s;
}

const mail = (subject: string, body = 'plain body', extra = '') =>
  Buffer.from(
    `From: Sender <sender@example.test>\r\nTo: x@example.test\r\nSubject: ${subject}\r\n${extra}\r\n${body}\r\n`,
  );

describe('MessageStore', () => {
  it('keeps a message once, with Return-Path and a Delivered-To line per recipient, and indexes every recipient', async () => {
    const dir = tempStore();
    const s = await openStore(dir);
    const result = await s.capture({
      queueId: Q1,
      sender: 'sender@example.test',
      recipients: ['A@example.test', 'b@example.test'],
      message: mail('hello'),
    });
    expect(result.ok).toBe(true);
    const file = fs.readFileSync(s.fileOf(`${Q1}.1`), 'utf8');
    expect(file).toBe(
      'Return-Path: <sender@example.test>\r\nDelivered-To: A@example.test\r\nDelivered-To: b@example.test\r\n' +
        mail('hello').toString(),
    );
    expect(fs.readdirSync(path.join(dir, 'messages'))).toEqual([`${Q1}.1.eml`]);
    expect(s.list({ to: 'a@EXAMPLE.test' }, 10).rows.map((r) => r.id)).toEqual([`${Q1}.1`]);
    expect(s.index.mailboxes()).toEqual([
      { mailbox: 'a@example.test', messages: 1 },
      { mailbox: 'b@example.test', messages: 1 },
    ]);
    const row = s.get(`${Q1}.1`)!;
    expect(row).toMatchObject({
      queueId: Q1,
      sender: 'sender@example.test',
      subject: 'hello',
      recipientCount: 2,
    });
    expect(row.from).toContain('sender@example.test');
  });

  it('captures a recipient of a queue ID once, however often the delivery is repeated (a crash before the journal)', async () => {
    const s = await openStore(tempStore());
    const req = { queueId: Q1, sender: 's@example.test', recipients: ['a@example.test'], message: mail('x') };
    const first = await s.capture(req);
    const again = await s.capture({ ...req, recipients: ['A@example.test', 'b@example.test'] });
    expect(first.ok && first.stored?.id).toBe(`${Q1}.1`);
    // a is held by the first capture; only b is new, in a second capture of the queue ID
    expect(again.ok && again.captures.get('a@example.test')?.id).toBe(`${Q1}.1`);
    expect(again.ok && again.stored?.id).toBe(`${Q1}.2`);
    const third = await s.capture({ ...req, recipients: ['b@example.test', 'a@example.test'] });
    expect(third.ok && third.stored).toBeUndefined();
    expect(s.index.totals().messages).toBe(2);
    expect(s.index.mailboxes().map((m) => m.messages)).toEqual([1, 1]);
  });

  it('an index that lost its last commits (a power loss: they are not fsynced) is repaired from the files before a delivery is repeated: no second copy', async () => {
    const dir = tempStore();
    let s = await openStore(dir);
    const req = { queueId: Q1, sender: 's@example.test', recipients: ['a@example.test'], message: mail('x') };
    await s.capture({ ...req, queueId: Q2 });
    await s.close();
    // the index as it was on disk before Q1's commit
    const saved = path.join(dir, '..', 'saved');
    fs.mkdirSync(saved);
    for (const f of fs.readdirSync(dir).filter((n) => n.startsWith('index.sqlite')))
      fs.copyFileSync(path.join(dir, f), path.join(saved, f));
    s = await openStore(dir);
    expect(s.index.synchronous()).toBe('normal');
    const first = await s.capture(req);
    expect(first.ok && first.stored?.id).toBe(`${Q1}.1`);
    await s.close();
    // the power loss: the file (fsynced) survived, the commit did not
    for (const f of fs.readdirSync(dir).filter((n) => n.startsWith('index.sqlite')))
      fs.rmSync(path.join(dir, f));
    for (const f of fs.readdirSync(saved)) fs.copyFileSync(path.join(saved, f), path.join(dir, f));
    s = await openStore(dir);
    const again = await s.capture(req);
    expect(again.ok && again.stored).toBeUndefined();
    expect(again.ok && again.captures.get('a@example.test')?.id).toBe(`${Q1}.1`);
    expect(fs.readdirSync(path.join(dir, 'messages')).sort()).toEqual([`${Q1}.1.eml`, `${Q2}.1.eml`]);
    expect(s.index.totals().messages).toBe(2);
  });

  it('repairs the index at open: indexes files it lacks, drops rows whose file is gone, rebuilds an unreadable index', async () => {
    const dir = tempStore();
    const seen: RelayEvent[] = [];
    let s = await openStore(dir);
    for (const [q, subject] of [
      [Q1, 'one'],
      [Q2, 'two'],
    ] as const)
      await s.capture({
        queueId: q,
        sender: 's@example.test',
        recipients: ['r@example.test'],
        message: mail(subject),
      });
    await s.close();
    // a file the index never heard of (a crash between the file and the transaction), and a lost file
    const orphan = fs
      .readFileSync(path.join(dir, 'messages', `${Q1}.1.eml`), 'utf8')
      .replace('Subject: one', 'Subject: three');
    fs.writeFileSync(path.join(dir, 'messages', `${Q3}.1.eml`), orphan);
    fs.rmSync(path.join(dir, 'messages', `${Q2}.1.eml`));
    s = await openStore(dir, { events: eventLog(seen) });
    expect(s.index.all().map((r) => [r.id, r.subject])).toEqual([
      [`${Q1}.1`, 'one'],
      [`${Q3}.1`, 'three'],
    ]);
    expect(seen.find((e) => e.id === 1133)?.data).toMatchObject({ indexed: 1, dropped: 1, rebuilt: false });
    await s.close();

    // a torn index file: kept aside, and a new one built from the files
    for (const f of fs.readdirSync(dir).filter((n) => n.startsWith('index.sqlite')))
      fs.writeFileSync(path.join(dir, f), 'this is not a database, it was torn'.repeat(200));
    seen.length = 0;
    s = await openStore(dir, { events: eventLog(seen) });
    expect(s.index.all().map((r) => r.subject)).toEqual(['one', 'three']);
    expect(seen.find((e) => e.id === 1133)?.data).toMatchObject({ indexed: 2, rebuilt: true });
    expect(fs.readdirSync(dir).some((n) => n.startsWith('index.sqlite.broken-'))).toBe(true);

    // store reindex: the same from scratch
    const report = await s.reindex();
    expect(report).toMatchObject({ indexed: 2, dropped: 0, rebuilt: true });
    expect(s.list({ q: 'three' }, 10).total).toBe(1);
  });

  it('filters by recipient, sender, subject, full text, tag, time and report, newest first with a cursor', async () => {
    const s = await openStore(tempStore());
    const ids = ['1A23B726A26-00000-1000', '1A23B726A26-00000-1001', '1A23B726A26-00000-1002'];
    await s.capture({
      queueId: ids[0]!,
      sender: 'app@example.test',
      recipients: ['a@x.test'],
      message: mail('Invoice 42', 'pay the zebra'),
    });
    await s.capture({
      queueId: ids[1]!,
      sender: 'shop@example.test',
      recipients: ['b@x.test'],
      message: mail('Welcome', 'hello there'),
    });
    await s.capture({
      queueId: ids[2]!,
      sender: 'app@example.test',
      recipients: ['a@x.test', 'c@x.test'],
      message: mail('Reset password', 'click "here"'),
    });
    s.index.addTags(`${ids[1]}.1`, ['signup']);
    expect(s.list({}, 10).rows.map((r) => r.queueId)).toEqual([ids[2], ids[1], ids[0]]);
    expect(s.list({ to: 'a@x.test' }, 10).total).toBe(2);
    expect(s.list({ from: 'SHOP@' }, 10).rows.map((r) => r.queueId)).toEqual([ids[1]]);
    expect(s.list({ subject: 'invoice' }, 10).rows.map((r) => r.queueId)).toEqual([ids[0]]);
    expect(s.list({ q: 'zebra' }, 10).rows.map((r) => r.queueId)).toEqual([ids[0]]);
    expect(s.list({ q: 'zeb*' }, 10).total).toBe(1);
    expect(s.list({ q: 'c@x.test' }, 10).rows.map((r) => r.queueId)).toEqual([ids[2]]);
    expect(s.list({ q: '"here" click( NEAR' }, 10).total).toBe(0); // FTS syntax in the input is text
    expect(s.list({ q: '"here" click(' }, 10).total).toBe(1);
    expect(s.list({ tag: 'signup' }, 10).rows.map((r) => r.queueId)).toEqual([ids[1]]);
    expect(s.list({ report: true }, 10).total).toBe(0);
    expect(s.list({ since: Date.now() + 60_000 }, 10).total).toBe(0);
    const first = s.list({}, 2);
    expect(first.total).toBe(3);
    expect(first.rows).toHaveLength(2);
    const second = s.list({}, 2, Number(first.nextCursor));
    expect(second.rows.map((r) => r.queueId)).toEqual([ids[0]]);
    expect(second.nextCursor).toBeUndefined();
  });

  it('reads a delivery report: flagged, with its per-recipient Action and Status', async () => {
    const s = await openStore(tempStore());
    const report = Buffer.from(
      'From: MAILER-DAEMON@relay.test\r\nSubject: Undeliverable: x\r\nMIME-Version: 1.0\r\n' +
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n' +
        '--b\r\nContent-Type: text/plain\r\n\r\nSorry.\r\n' +
        '--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; relay.test\r\n\r\n' +
        'Final-Recipient: rfc822; gone@bounce.test\r\nAction: failed\r\nStatus: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1\r\n User unknown\r\n\r\n' +
        'Final-Recipient: rfc822; slow@example.test\r\nAction: delayed\r\nStatus: 4.4.1\r\n\r\n' +
        '--b--\r\n',
    );
    await s.capture({ queueId: Q1, sender: '', recipients: ['sender@example.test'], message: report });
    const row = s.list({ report: true }, 10).rows[0]!;
    expect(row.report).toBe(true);
    expect(s.index.reportStatuses(row.seq)).toEqual([
      {
        recipient: 'gone@bounce.test',
        action: 'failed',
        status: '5.1.1',
        diagnostic: 'smtp; 550 5.1.1 User unknown',
      },
      { recipient: 'slow@example.test', action: 'delayed', status: '4.4.1', diagnostic: undefined },
    ]);
    expect(fs.readFileSync(s.fileOf(row.id), 'utf8').startsWith('Return-Path: <>\r\n')).toBe(true);
  });

  it('links a report of ours to the message it reports on (X-Ims-Relay-Queue-ID), and filters by queue ID', async () => {
    const s = await openStore(tempStore());
    // the original (queue ID Q2), captured; its report has its own queue ID (Q3) and names Q2
    await s.capture({
      queueId: Q2,
      sender: 'sender@example.test',
      recipients: ['a@x.test'],
      message: mail('orig'),
    });
    const report = Buffer.from(
      'From: MAILER-DAEMON@relay.test\r\nSubject: Undeliverable: orig\r\nMIME-Version: 1.0\r\n' +
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n' +
        '--b\r\nContent-Type: text/plain\r\n\r\nSorry.\r\n' +
        `--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; relay.test\r\nX-Ims-Relay-Queue-ID: ${Q2}\r\n\r\n` +
        'Final-Recipient: rfc822; gone@bounce.test\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n--b--\r\n',
    );
    await s.capture({ queueId: Q3, sender: '', recipients: ['sender@example.test'], message: report });
    await s.capture({ queueId: Q1, sender: 's@x.test', recipients: ['b@x.test'], message: mail('other') });
    const check = () => {
      const rows = s.list({ queueId: Q2 }, 10).rows;
      expect(rows.map((r) => [r.queueId, r.report, r.reportedQueueId])).toEqual([
        [Q3, true, Q2],
        [Q2, false, undefined],
      ]);
      expect(s.list({ queueId: Q2, report: false }, 10).rows.map((r) => r.subject)).toEqual(['orig']);
      expect(s.list({ queueId: Q3 }, 10).rows.map((r) => r.subject)).toEqual(['Undeliverable: orig']);
      expect(s.list({ queueId: 'nothing' }, 10).total).toBe(0);
    };
    check();
    // the link is read from the file, so a rebuilt index has it too
    await s.reindex();
    check();
  });

  it('applies the retention limits (count, age, bytes) with event 1132', async () => {
    const seen: RelayEvent[] = [];
    const s = await openStore(tempStore(), {
      events: eventLog(seen),
      retention: { messages: 3, ageMs: undefined, bytes: undefined },
      retentionIntervalMs: 3_600_000,
    });
    for (let i = 0; i < 5; i++)
      await s.capture({
        queueId: `1A23B726A26-00000-200${i}`,
        sender: 's@example.test',
        recipients: ['r@example.test'],
        message: mail(`m${i}`),
      });
    await s.prune();
    expect(s.index.all().map((r) => r.subject)).toEqual(['m2', 'm3', 'm4']);
    expect(fs.readdirSync(s.messagesDir)).toHaveLength(3);
    const pruned = seen.filter((e) => e.id === 1132);
    expect(pruned.reduce((n, e) => n + (e.data!.pruned as number), 0)).toBe(2);

    const byAge = await openStore(tempStore(), {
      retention: { messages: 0, ageMs: 60_000, bytes: undefined },
      retentionIntervalMs: 3_600_000,
    });
    await byAge.capture({ queueId: Q1, sender: 's@x', recipients: ['r@x'], message: mail('old') });
    await byAge.capture({ queueId: Q2, sender: 's@x', recipients: ['r@x'], message: mail('new') });
    byAge.index.db
      .prepare('UPDATE messages SET captured_at = ? WHERE queue_id = ?')
      .run(Date.now() - 120_000, Q1);
    expect(await byAge.prune()).toBe(1);
    expect(byAge.index.all().map((r) => r.subject)).toEqual(['new']);

    const bySize = await openStore(tempStore(), {
      retention: { messages: 0, ageMs: undefined, bytes: 1 },
      retentionIntervalMs: 3_600_000,
    });
    await bySize.capture({ queueId: Q1, sender: 's@x', recipients: ['r@x'], message: mail('a') });
    expect(await bySize.prune()).toBe(1);
    expect(bySize.index.totals()).toEqual({ messages: 0, bytes: 0 });
  });

  it('captures one message to 32,766 recipients as one file and 32,766 index rows', async () => {
    const s = await openStore(tempStore());
    const recipients = Array.from({ length: 32_766 }, (_, i) => `user${i}@example.test`);
    const message = Buffer.from(
      `From: bulk@example.test\r\nTo: ${recipients.join(',\r\n ')}\r\nSubject: everyone\r\n\r\nhello all\r\n`,
    );
    const result = await s.capture({ queueId: Q1, sender: 'bulk@example.test', recipients, message });
    expect(result.ok).toBe(true);
    expect(fs.readdirSync(s.messagesDir)).toEqual([`${Q1}.1.eml`]);
    expect(s.index.mailboxes()).toHaveLength(32_766);
    for (const who of ['user0@example.test', 'user32765@example.test'])
      expect(s.list({ to: who }, 10).rows.map((r) => r.recipientCount)).toEqual([32_766]);
    const row = s.get(`${Q1}.1`)!;
    expect(s.index.recipients(row.seq, 32_760, 10)).toEqual(recipients.slice(32_760));
    expect(row.subject).toBe('everyone');
  }, 60_000);
});
