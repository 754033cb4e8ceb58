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
import { runCli } from './helpers/relay-process.js';
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

/** `attempt` records in the journals of in/: how many attempts have started so far. */
function attemptsStarted(spool: string): number {
  let n = 0;
  for (const name of fs.readdirSync(path.join(spool, 'in'))) {
    if (!name.endsWith('.journal')) continue;
    try {
      n += (fs.readFileSync(path.join(spool, 'in', name), 'utf8').match(/"t":"attempt"/g) ?? []).length;
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
  it('a crash loop of SIGKILLs shortly after each start, on the default settings: every message delivered once, bad/ empty', async () => {
    const spool = tempDir('ims-crashloop-');
    const planted: Planted[] = [];
    for (let i = 0; i < 30; i++) {
      const recipients =
        i % 3 === 0
          ? Array.from({ length: 400 }, (_, k) => `big${k}@example.test`)
          : [`user${i}@example.test`, `other${i % 7}@example.test`];
      planted.push(plant(spool, recipients));
    }
    const KILLS = 5;
    let kills = 0;
    for (let k = 0; k < KILLS; k++) {
      const before = attemptsStarted(spool);
      const run = serve(spool);
      // kill it as soon as it is delivering (a fresh attempt record), a few milliseconds in
      let exited = false;
      void run.exited.then(() => (exited = true));
      await waitFor(
        'an attempt under way',
        () => exited || attemptsStarted(spool) > before || entries(spool, 'in').length === 0,
        30_000,
      );
      if (exited) throw new Error(`the relay exited by itself: ${run.stderr()}`);
      await new Promise((r) => setTimeout(r, Math.random() * 40));
      run.child.kill('SIGKILL');
      expect(await run.exited).toBe('SIGKILL');
      kills++;
      if (entries(spool, 'in').length === 0) break;
    }
    // the loop must really have hit deliveries in flight (each kill follows a fresh attempt record);
    // with the message store a capture is quick, so the queue may be empty after fewer kills
    expect(kills).toBeGreaterThanOrEqual(1);
    const leftForLastRun = entries(spool, 'in').length;

    const eventsFile = path.join(spool, 'log', 'events.jsonl');
    const offset = fs.existsSync(eventsFile) ? fs.statSync(eventsFile).size : 0;
    const last = serve(spool);
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
    for (const message of planted) expect(copies(spool, message).every((c) => c === 1)).toBe(true);
    // the last run found suspects (in flight at the last kill), processed them alone and cleared them
    // (events of the killed runs may be lost with them: only the last run's are read)
    const events = readEvents(spool, offset);
    const suspected = events.filter((e) => e.id === 2251).map((e) => e.queueId);
    const cleared = events.filter((e) => e.id === 2253).map((e) => e.queueId);
    if (leftForLastRun > 0) {
      expect(suspected.length).toBeGreaterThan(0);
      expect(events.some((e) => e.id === 2250)).toBe(true); // the unclean stop, from the lock file
    }
    for (const id of suspected) expect(cleared).toContain(id);
    expect(events.filter((e) => e.id === 4116)).toEqual([]);
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
