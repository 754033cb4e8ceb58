import fs from 'node:fs';
import { capturedFiles, capturedMailboxes } from './helpers/captured.js';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeEntry } from '../src/spool/entry-format.js';
import type { Envelope } from '../src/message/envelope.js';
import { QueueIdGenerator } from '../src/spool/queue-id.js';
import { arrivalOf } from '../src/spool/queue-listing.js';
import { Spool } from '../src/spool/spool.js';
import { runCli, startRelayProcess } from './helpers/relay-process.js';
import { SmtpSession } from './helpers/smtp-session.js';
import { startTestRelay, tempDir } from './helpers/test-relay.js';
import { waitFor } from './helpers/wait-for.js';

/**
 * Writes `count` committed entries straight into in/ (as the spool would after a stop), arriving
 * one a second ending `newestAgeMs` ago; every 5th from sender `odd@…`, every 3rd to
 * `third@…`, every 4th with a journal (every 8th of all held). Returns the queue IDs.
 */
function fillSpool(dir: string, count: number, newestAgeMs = 0): string[] {
  const spool = Spool.open(dir);
  const start = Date.now() - newestAgeMs - count * 1000;
  let i = 0;
  const ids = new QueueIdGenerator(() => start + i * 1000);
  const made: string[] = [];
  for (i = 0; i < count; i++) {
    const queueId = ids.next();
    const envelope: Envelope = {
      version: 1,
      queueId,
      arrivedAt: new Date(start + i * 1000).toISOString(),
      sender: i % 5 === 0 ? 'odd@example.test' : 'sender@example.test',
      recipients: [{ address: i % 3 === 0 ? 'third@example.test' : `user${i % 7}@example.test` }],
      dsn: {},
      bodyType: '7bit',
      smtpUtf8: false,
      source: 'smtp',
    };
    const message = Buffer.from(`From: sender@example.test\r\nSubject: backlog ${i}\r\n\r\nbody ${i}\r\n`);
    fs.writeFileSync(spool.entryPath('in', queueId), encodeEntry(envelope, message));
    if (i % 4 === 0) {
      const at = new Date(start).toISOString();
      const lines = [{ t: 'retry', at }, ...(i % 8 === 0 ? [{ t: 'hold', at }] : [])];
      fs.writeFileSync(spool.journalPath('in', queueId), lines.map((l) => JSON.stringify(l) + '\n').join(''));
    }
    made.push(queueId);
  }
  return made;
}

async function cli(args: string[]) {
  const run = runCli(args);
  const code = await run.exited;
  return { code, out: run.stdout(), err: run.stderr() };
}

/** Every captured message file of the spool's store (one per message and capture). */
function mailboxFiles(spool: string): string[] {
  return capturedMailboxes(spool).flatMap(({ mailbox }) => capturedFiles(spool, mailbox));
}

describe('a deep queue', () => {
  it('is served SMTP while the backlog is still being read, and the backlog is delivered behind it, each message once', async () => {
    const dir = tempDir();
    const backlog = 2000;
    const ids = fillSpool(dir, backlog);
    // release the held ones: this test is about delivering all of them
    for (const name of fs.readdirSync(path.join(dir, 'in')))
      if (name.endsWith('.journal'))
        fs.writeFileSync(
          path.join(dir, 'in', name),
          JSON.stringify({ t: 'retry', at: new Date().toISOString() }) + '\n',
        );

    const relay = await startTestRelay({ spool: dir, mode: 'capture' });
    try {
      const progress = relay.delivery!.backlog;
      expect(progress.listed).toBe(backlog);
      // runRelay has returned, SMTP listens, and the journals are still being read
      expect(progress.done).toBe(false);
      const session = await SmtpSession.connect(relay.port);
      const greeting = await session.reply();
      const scheduledAtGreeting = progress.scheduled;
      expect(greeting).toMatch(/^220 /);
      expect(scheduledAtGreeting).toBeLessThan(backlog);
      await session.cmd('EHLO client.test');
      const reply = await session.submit(
        '<new@example.test>',
        ['<fresh@example.test>'],
        'Subject: new while the backlog is read\r\n\r\nhello',
      );
      expect(reply).toMatch(/^250 /);
      session.close();

      await waitFor(
        'the backlog and the new message delivered',
        () => fs.readdirSync(path.join(dir, 'in')).length === 0,
        120_000,
      );
      expect(progress).toMatchObject({ listed: backlog, scheduled: backlog, done: true });
      const delivered = mailboxFiles(relay.spool.dir);
      expect(delivered).toHaveLength(backlog + 1);
      // each backlog message exactly once (a message is linked once per recipient, named by its queue ID)
      const subjects = delivered.map((f) => /^Subject: (.*)$/m.exec(fs.readFileSync(f, 'latin1'))?.[1]);
      expect(new Set(subjects).size).toBe(backlog + 1);
      expect(subjects).toContain('new while the backlog is read');
      expect(ids).toHaveLength(backlog);
    } finally {
      await relay.stop();
    }
  }, 180_000);

  it('pages through the admin API: every entry exactly once, filters by sender, recipient, age and held, counts', async () => {
    const dir = tempDir();
    const total = 2500;
    // the newest arrived 10 minutes ago, the oldest 2500 s before that
    const ids = fillSpool(dir, total, 600_000);
    const relay = await startTestRelay({ spool: dir, mode: 'hold' });
    try {
      const api = `http://127.0.0.1:${relay.http!.port}/api/v1/messages`;
      const get = async (query: string) => {
        const res = await fetch(`${api}${query}`);
        expect(res.status).toBe(200);
        return (await res.json()) as {
          total: number;
          items: { queueId: string; sender: string; held: boolean }[];
          nextCursor?: string;
          count?: number;
        };
      };
      const pageThrough = async (query: string, limit: number) => {
        const seen: string[] = [];
        let cursor: string | undefined;
        let pages = 0;
        do {
          const page = await get(`?folder=in&limit=${limit}${query}${cursor ? `&cursor=${cursor}` : ''}`);
          expect(page.total).toBe(total);
          expect(page.items.length).toBeLessThanOrEqual(limit);
          seen.push(...page.items.map((i) => i.queueId));
          cursor = page.nextCursor;
          pages++;
        } while (cursor);
        return { seen, pages };
      };

      const all = await pageThrough('', 1000);
      expect(all.pages).toBe(3);
      expect(all.seen).toEqual(ids); // in order, each once
      const first = await get('?limit=50');
      expect(first.items.map((i) => i.queueId)).toEqual(ids.slice(0, 50));
      expect(first.nextCursor).toBe(ids[49]);

      const expected = (keep: (i: number) => boolean) => ids.filter((_, i) => keep(i));
      const bySender = await pageThrough('&sender=ODD@', 37);
      expect(bySender.seen).toEqual(expected((i) => i % 5 === 0));
      const byRecipient = await pageThrough('&recipient=third', 100);
      expect(byRecipient.seen).toEqual(expected((i) => i % 3 === 0));
      const held = await pageThrough('&held=true', 50);
      expect(held.seen).toEqual(expected((i) => i % 8 === 0));
      // older than 30 minutes: the oldest ones, as many as had that age between before and after
      const oldAt = (now: number) => ids.filter((id) => now - arrivalOf(id) >= 30 * 60_000).length;
      const oldBefore = oldAt(Date.now());
      const old = await pageThrough('&olderThan=30m', 500);
      const oldAfter = oldAt(Date.now());
      expect(oldBefore).toBeGreaterThan(1000);
      expect(old.seen.length).toBeGreaterThanOrEqual(oldBefore);
      expect(old.seen.length).toBeLessThanOrEqual(oldAfter);
      expect(old.seen).toEqual(ids.slice(0, old.seen.length));
      const combined = await pageThrough('&sender=odd&recipient=third&held=false', 10);
      expect(combined.seen).toEqual(expected((i) => i % 15 === 0 && i % 8 !== 0));

      const count = async (query: string) =>
        ((await (await fetch(`${api}/count?folder=in${query}`)).json()) as { count: number }).count;
      expect(await count('')).toBe(total);
      expect(await count('&sender=odd')).toBe(bySender.seen.length);
      expect(await count('&held=true')).toBe(held.seen.length);
      expect(await count('&newerThan=5m')).toBe(0);
      expect((await fetch(`${api}?cursor=nonsense`)).status).toBe(400);
      expect((await fetch(`${api}?olderThan=soon`)).status).toBe(400);

      // entries that arrive while a client pages: the ones present throughout are listed once
      const half = await get('?limit=1000');
      fillSpool(dir, 10);
      let cursor = half.nextCursor;
      const rest: string[] = [];
      while (cursor) {
        const page = await get(`?limit=1000&cursor=${cursor}`);
        rest.push(...page.items.map((i) => i.queueId));
        cursor = page.nextCursor;
      }
      const listed = [...half.items.map((i) => i.queueId), ...rest];
      expect(new Set(listed).size).toBe(listed.length);
      expect(listed.filter((id) => ids.includes(id))).toEqual(ids);
    } finally {
      await relay.stop();
    }
  }, 120_000);

  it('queue list streams the folder, counts and filters, with no relay and through a running one', async () => {
    const dir = tempDir();
    const total = 1200;
    const ids = fillSpool(dir, total);

    const count = await cli(['queue', 'list', '--count', '--spool', dir]);
    expect(count).toMatchObject({ code: 0, out: `${total}\n` });
    const list = await cli(['queue', 'list', '--spool', dir]);
    expect(list.code).toBe(0);
    const lines = list.out.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^QUEUE ID/);
    expect(lines.at(-1)).toBe(`in/: ${total} messages`);
    expect(lines.slice(1, -1).map((l) => l.split(' ')[0])).toEqual(ids);
    const heldOnes = await cli(['queue', 'list', '--held', '--json', '--spool', dir]);
    const doc = JSON.parse(heldOnes.out) as { items: { queueId: string }[]; total: number; shown: number };
    expect(doc.total).toBe(total);
    expect(doc.items.map((i) => i.queueId)).toEqual(ids.filter((_, i) => i % 8 === 0));
    expect((await cli(['queue', 'list', '--count', '--sender', 'odd', '--spool', dir])).out).toBe(
      `${ids.filter((_, i) => i % 5 === 0).length}\n`,
    );
    const bad = await cli(['queue', 'list', '--older-than', 'soon', '--spool', dir]);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('--older-than must be a duration');

    const relay = await startRelayProcess(['--spool', dir, '--mode', 'hold']);
    try {
      const through = await cli(['queue', 'list', '--spool', dir]);
      expect(through.code).toBe(0);
      const throughLines = through.out.trimEnd().split('\n');
      expect(throughLines.slice(1, -1).map((l) => l.split(' ')[0])).toEqual(ids);
      expect(throughLines.at(-1)).toBe(`in/: ${total} messages`);
      const recipient = await cli(['queue', 'list', '--recipient', 'third@', '--spool', dir]);
      expect(recipient.out.trimEnd().split('\n').at(-1)).toBe(
        `in/: ${ids.filter((_, i) => i % 3 === 0).length} of ${total} messages match`,
      );
      expect((await cli(['queue', 'list', '--count', '--spool', dir])).out).toBe(`${total}\n`);
      expect((await cli(['queue', 'list', '--count', '--held', '--spool', dir])).out).toBe(
        `${ids.filter((_, i) => i % 8 === 0).length}\n`,
      );
    } finally {
      relay.child.kill('SIGTERM');
      await relay.exited;
    }
  }, 120_000);
});
