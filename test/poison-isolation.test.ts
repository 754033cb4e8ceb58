/**
 * Restarts never cost acknowledged mail (issue: a crash loop quarantined every message in flight).
 * The relay runs as a real child process on its DEFAULT settings (--max-processing-failures 3) and
 * is killed with SIGKILL; poison-message isolation (src/delivery/poison-isolation.ts) must deliver
 * every message once and keep bad/ empty, and a message that really kills the relay (the test-only
 * IMS_RELAY_TEST_CRASH_ON hook) must end alone in bad/.
 */
import fs from 'node:fs';
import { capturedFiles } from './helpers/captured.js';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeEntry } from '../src/spool/entry-format.js';
import type { Envelope } from '../src/message/envelope.js';
import { QueueIdGenerator } from '../src/spool/queue-id.js';
import { replayJournal } from '../src/spool/recipient-journal.js';
import { runCli, startRelayProcess } from './helpers/relay-process.js';
import { SlowUpstream } from './helpers/slow-upstream.js';
import { SmtpSession } from './helpers/smtp-session.js';
import { tempDir } from './helpers/test-relay.js';
import { waitFor } from './helpers/wait-for.js';

const ids = new QueueIdGenerator();

interface Planted {
  queueId: string;
  recipients: string[];
}

function plant(spool: string, recipients: string[], body = 'x'): Planted {
  const envelope: Envelope = {
    version: 1,
    queueId: ids.next(),
    arrivedAt: new Date().toISOString(),
    sender: 'sender@example.test',
    recipients: recipients.map((address) => ({ address })),
    dsn: {},
    bodyType: '7bit',
    smtpUtf8: false,
    source: 'smtp',
  };
  fs.mkdirSync(path.join(spool, 'in'), { recursive: true });
  fs.writeFileSync(
    path.join(spool, 'in', `${envelope.queueId}.imsr`),
    encodeEntry(envelope, Buffer.from(`Subject: ${envelope.queueId}\r\n\r\n${body}\r\n`)),
  );
  return { queueId: envelope.queueId, recipients };
}

/** The relay on its default settings (capture mode is the default), no admin API. */
const serve = (spool: string, env: Record<string, string> = {}) =>
  runCli(['serve', '--spool', spool, '--smtp', '127.0.0.1:0', '--http', 'off', '--log-level', 'warn'], env);

const entries = (spool: string, folder: string) =>
  fs.existsSync(path.join(spool, folder))
    ? fs.readdirSync(path.join(spool, folder)).filter((n) => n.endsWith('.imsr'))
    : [];

/** Journals in in/ whose last attempt has not ended: the messages being processed. */
function attemptsOpen(spool: string): number {
  let n = 0;
  for (const name of fs.readdirSync(path.join(spool, 'in'))) {
    if (!name.endsWith('.journal')) continue;
    try {
      const text = fs.readFileSync(path.join(spool, 'in', name), 'utf8');
      if (text.lastIndexOf('"t":"attempt"') > text.lastIndexOf('"t":"attempt-end"')) n++;
    } catch {
      // removed meanwhile
    }
  }
  return n;
}

type Logged = { id: number; queueId?: string; data?: Record<string, unknown> };
/** Events in the file, from byte `from` on (what one run wrote). */
const readEvents = (spool: string, from = 0): Logged[] =>
  fs
    .readFileSync(path.join(spool, 'log', 'events.jsonl'))
    .subarray(from)
    .toString('utf8')
    .split('\n')
    .filter((l) => l.endsWith('}'))
    .map((l) => JSON.parse(l) as Logged);

function copies(spool: string, message: Planted): number[] {
  return message.recipients.map(
    (r) => capturedFiles(spool, r).filter((f) => path.basename(f).startsWith(`${message.queueId}.`)).length,
  );
}

describe('poison-message isolation after unclean stops (Q317653 bisection, done by the relay)', () => {
  it('a crash loop of 4 SIGKILLs, each while deliveries to a slow upstream are in flight, on the default settings: every acknowledged message delivered exactly once, bad/ empty', async () => {
    // a real next hop that holds each message 200 ms before its 250: deliveries stay in flight
    const sink = new SlowUpstream(200);
    await sink.start();
    const spool = tempDir('ims-crashloop-');
    // relay mode to the sink; every other setting is the default (--max-processing-failures 3,
    // --delivery-concurrency 32, --upstream-max-recipients 1000)
    const args = ['--spool', spool, '--mode', 'relay', '--upstream', `smtp://127.0.0.1:${sink.port}`];
    const acknowledged = new Map<string, string[]>(); // queue ID -> recipients
    let sent = 0;
    const submit = async (port: number, count: number) => {
      const s = await SmtpSession.ready(port);
      for (let i = 0; i < count; i++, sent++) {
        const recipients =
          sent % 3 === 0
            ? Array.from({ length: 40 }, (_, k) => `m${sent}r${k}@example.test`)
            : [`user${sent}@example.test`, `other${sent}@example.test`];
        const reply = await s.submit(
          '<sender@example.test>',
          recipients.map((r) => `<${r}>`),
          `Subject: crash loop ${sent}\r\n\r\nbody`,
        );
        expect(reply).toMatch(/^250 /);
        acknowledged.set(reply.split(' ').pop()!, recipients);
      }
      s.close();
    };
    // every 250 the sink has sent is in the relay's journal (or the message is finished): killing
    // now cannot make the relay send again what the sink took (SMTP's own duplicate window)
    const journalCaughtUp = () =>
      [...acknowledged.keys()].every((queueId) => {
        const taken = sink.copies(queueId).size;
        if (taken === 0 || !fs.existsSync(path.join(spool, 'in', `${queueId}.imsr`))) return true;
        const journal = fs.readFileSync(path.join(spool, 'in', `${queueId}.journal`), 'utf8');
        return replayJournal(journal).done.size >= taken;
      });

    const KILLS = 4;
    const heldAtKill: number[] = []; // deliveries held upstream at each kill
    const openAtKill: number[] = []; // journals with an attempt that never ended
    try {
      for (let k = 0; k < KILLS; k++) {
        const run = await startRelayProcess(args);
        const heldBefore = sink.heldTotal;
        // the first run: the sink answers nothing until the kill, so all 24 are in flight at once
        if (k === 0) sink.pause();
        // acknowledged before the kill: 24 at first, 2 more in each later run
        await submit(run.port, k === 0 ? 24 : 2);
        // kill while the sink holds messages of this run: at first eight at once; later the
        // suspects are processed one at a time, and the kill comes during the first one's delivery
        await waitFor(
          'deliveries held by the sink',
          () =>
            k === 0
              ? sink.held === 8 && attemptsOpen(spool) === 24
              : sink.held >= 1 && sink.heldTotal > heldBefore,
          30_000,
        ).catch((err: Error) => {
          const tail = readEvents(spool).slice(-15);
          throw new Error(
            `${err.message} (run ${k}; sink ${JSON.stringify({ held: sink.held, heldTotal: sink.heldTotal, sessions: sink.sessions })}; last events ${JSON.stringify(tail)}; stderr ${run.stderr()})`,
          );
        });
        sink.pause();
        await waitFor('the journals to hold every 250 sent', journalCaughtUp);
        heldAtKill.push(sink.held);
        openAtKill.push(attemptsOpen(spool));
        run.child.kill('SIGKILL');
        expect(await run.exited).toBe('SIGKILL');
        // the held messages of the dead relay are dropped, never answered
        await waitFor('the dead relay gone from the sink', () => sink.sessions === 0);
        sink.resume();
        await waitFor('the held messages dropped', () => sink.held === 0);
      }
      // every kill came during processing: a DATA held upstream, attempts open in the journals
      expect(heldAtKill).toHaveLength(KILLS);
      expect(heldAtKill[0]).toBe(8); // the relay's 8 upstream connections, each in DATA
      for (const held of heldAtKill) expect(held).toBeGreaterThanOrEqual(1);
      expect(openAtKill[0]).toBe(24); // the first kill: every message in flight
      const leftForLastRun = entries(spool, 'in').length;

      const eventsFile = path.join(spool, 'log', 'events.jsonl');
      const offset = fs.statSync(eventsFile).size;
      const last = await startRelayProcess(args);
      let lastExited = false;
      void last.exited.then(() => (lastExited = true));
      try {
        await waitFor('everything delivered', () => lastExited || entries(spool, 'in').length === 0, 120_000);
        if (lastExited) throw new Error(`the last relay exited by itself: ${last.stderr()}`);
      } finally {
        last.child.kill('SIGTERM');
        await last.exited;
      }
      expect(entries(spool, 'bad')).toEqual([]);
      expect(acknowledged.size).toBe(30);
      expect(leftForLastRun).toBeGreaterThan(10); // the last run had most of the work left
      for (const [queueId, recipients] of acknowledged) {
        const copies = sink.copies(queueId);
        expect([queueId, [...copies.keys()].sort()]).toEqual([queueId, [...recipients].sort()]);
        expect([queueId, [...copies.values()].every((n) => n === 1)]).toEqual([queueId, true]);
      }
      expect(sink.dropped).toBeGreaterThan(0); // deliveries really were cut short
      console.log(
        `crash loop: ${JSON.stringify({ kills: KILLS, heldAtKill, openAtKill, acknowledged: acknowledged.size, transactions: sink.accepted.length, droppedUpstream: sink.dropped, inBad: 0 })}`,
      );
      const all = readEvents(spool);
      expect(all.filter((e) => e.id === 2250)).toHaveLength(KILLS); // one per unclean stop
      expect(all.filter((e) => e.id === 4116)).toEqual([]);
      // the last run found the suspects of the last kill, processed them alone and cleared them
      const events = readEvents(spool, offset);
      const suspected = events.filter((e) => e.id === 2251).map((e) => e.queueId);
      const cleared = events.filter((e) => e.id === 2253).map((e) => e.queueId);
      expect(suspected.length).toBeGreaterThan(0);
      expect([...cleared].sort()).toEqual([...suspected].sort());
      // and across the loop, suspects of every unclean stop were cleared
      expect(all.filter((e) => e.id === 2253).length).toBeGreaterThanOrEqual(KILLS);
    } finally {
      await sink.stop();
    }
  }, 240_000);

  it('a message that really kills the relay each time it is processed ends alone in bad/; the others are delivered', async () => {
    const spool = tempDir('ims-poison-');
    const marker = 'KILL-THE-RELAY-' + Date.now();
    const good = Array.from({ length: 5 }, (_, i) => plant(spool, [`good${i}@example.test`]));
    const poison = plant(spool, ['victim@example.test'], `this body contains ${marker}`);
    const good2 = Array.from({ length: 5 }, (_, i) => plant(spool, [`late${i}@example.test`]));
    const env = { IMS_RELAY_TEST_CRASH_ON: marker };

    let deaths = 0;
    for (let run = 0; run < 8; run++) {
      const relay = serve(spool, env);
      let code: number | string | undefined;
      void relay.exited.then((c) => (code = c));
      await waitFor(
        'the relay dies or the queue is empty',
        () => code !== undefined || entries(spool, 'in').length === 0,
        60_000,
      );
      if (code === undefined) {
        relay.child.kill('SIGTERM');
        await relay.exited;
        break;
      }
      expect(code).toBe('SIGKILL'); // killed by the poison, nothing else
      deaths++;
    }
    // once with the others in flight, then three times alone (--max-processing-failures 3)
    expect(deaths).toBe(4);
    expect(entries(spool, 'bad')).toEqual([`${poison.queueId}.imsr`]);
    expect(copies(spool, poison)).toEqual([0]);
    for (const message of [...good, ...good2]) expect(copies(spool, message)).toEqual([1]);
    const events = readEvents(spool);
    const quarantined = events.filter((e) => e.id === 4116);
    expect(quarantined.map((e) => e.queueId)).toEqual([poison.queueId]);
    expect(String(quarantined[0]!.data?.reason)).toMatch(/alone ended in a crash or an error 3 times/);
    // its journal tells the story: one attempt with others, three alone, none ended
    const journal = fs.readFileSync(path.join(spool, 'bad', `${poison.queueId}.journal`), 'utf8');
    expect(journal.match(/"t":"attempt"/g)).toHaveLength(4);
    expect(journal.match(/"alone":true/g)).toHaveLength(3);
    expect(journal).not.toContain('attempt-end');
  }, 240_000);
});
