/**
 * Events of a message at most once across restarts (issue 12, section 5): a real SIGKILL right
 * after event 3041 — before the journal record that follows it in the old order — and a restart
 * must not log 3041 again nor send the report twice.
 */
import fs from 'node:fs';
import { capturedFiles } from './helpers/captured.js';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startRelayProcess, type RelayProcess } from './helpers/relay-process.js';
import { SlowUpstream } from './helpers/slow-upstream.js';
import { SmtpSession } from './helpers/smtp-session.js';
import { tempDir } from './helpers/test-relay.js';
import { waitFor } from './helpers/wait-for.js';

let running: RelayProcess | undefined;
afterEach(async () => {
  if (running && running.child.exitCode === null && running.child.signalCode === null) {
    running.child.kill('SIGKILL');
    await running.exited;
  }
  running = undefined;
});

const mailboxFiles = (spool: string, address: string) => capturedFiles(spool, address);

describe('events across restarts', () => {
  it('logs 3041 once and sends the report once when a kill follows the event', async () => {
    const spool = tempDir();
    const args = [
      '--spool',
      spool,
      '--ndr-max-recipients',
      '2',
      '--fail',
      '*@bounce.test=550 5.1.1 User unknown',
    ];
    running = await startRelayProcess(args, { IMS_RELAY_TEST_KILL_AFTER_EVENT: '3041' });
    const s = await SmtpSession.ready(running.port);
    const reply = await s.submit(
      '<sender@example.test>',
      ['<a@bounce.test>', '<b@bounce.test>', '<c@bounce.test>'],
      'Subject: capped\r\n\r\nbody',
    );
    expect(reply).toMatch(/^250 /);
    s.close();
    expect(await running.exited).toBe('SIGKILL'); // killed right after 3041

    running = await startRelayProcess(args);
    await waitFor(
      'the report in the sender mailbox',
      () => mailboxFiles(spool, 'sender@example.test').length > 0,
    );
    await waitFor(
      'in/ and out/ empty',
      () =>
        fs.readdirSync(path.join(spool, 'in')).length + fs.readdirSync(path.join(spool, 'out')).length === 0,
    );
    running.child.kill('SIGTERM');
    await running.exited;

    const events = fs
      .readFileSync(path.join(spool, 'log', 'events.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { id: number });
    expect(events.filter((e) => e.id === 3041)).toHaveLength(1);
    expect(events.filter((e) => e.id === 4120)).toHaveLength(0);
    expect(mailboxFiles(spool, 'sender@example.test')).toHaveLength(1);
  });
});

describe('kill trials: event 1110 is in the events file before the SIGKILL', () => {
  // The trials: a pickup file is taken into the queue (event 1110), and the relay is
  // killed while that message is on its way; 1110 was missing in 9 of 50 (events waited behind
  // the spool's fsyncs in libuv's thread pool for hundreds of ms under load). Here: relay mode to
  // a real upstream that holds the pickup message 300 ms, four SMTP clients committing messages (fsyncs)
  // all the time, and the SIGKILL comes as soon as the upstream has the pickup message: 1110 (and
  // the entry it names) must be there, in every trial.
  it('keeps 1110 of a pickup message in flight across 5 real SIGKILLs under SMTP load', async () => {
    // the load passes at once; the pickup message is held
    const sink = new SlowUpstream((text) => (text.includes('Subject: kill trial') ? 300 : 0));
    await sink.start();
    const TRIALS = 5;
    const found: boolean[] = [];
    try {
      for (let trial = 0; trial < TRIALS; trial++) {
        const spool = tempDir('ims-kill-1110-');
        running = await startRelayProcess([
          '--spool',
          spool,
          '--mode',
          'relay',
          '--upstream',
          `smtp://127.0.0.1:${sink.port}`,
        ]);
        const port = running.port;
        let loading = true;
        let committed = 0;
        const load = Array.from({ length: 4 }, async (_, c) => {
          const s = await SmtpSession.ready(port);
          while (loading) {
            const reply = await s.submit(
              '<load@example.test>',
              [`<load${c}@example.test>`],
              `Subject: load ${c}\r\n\r\nbody`,
            );
            if (!reply.startsWith('250')) break; // the relay is gone
            committed++;
          }
          s.close();
        });
        await waitFor('load under way', () => committed >= 8);
        const name = `trial-${trial}.eml`;
        const subject = `kill trial ${trial} ${Date.now()}`;
        const staged = path.join(spool, 'pickup', `.${name}`);
        fs.writeFileSync(
          staged,
          `X-Sender: <sender@example.test>\r\nX-Receiver: <picked@example.test>\r\nSubject: ${subject}\r\n\r\nbody\r\n`,
        );
        fs.renameSync(staged, path.join(spool, 'pickup', name));
        await waitFor('the upstream holding the pickup message', () =>
          sink.seen.some((m) => m.includes(`Subject: ${subject}`)),
        );
        running.child.kill('SIGKILL');
        expect(await running.exited).toBe('SIGKILL');
        loading = false;
        await Promise.all(load);
        const events = fs
          .readFileSync(path.join(spool, 'log', 'events.jsonl'), 'utf8')
          .split('\n')
          .filter((l) => l.endsWith('}'))
          .map((l) => JSON.parse(l) as { id: number; queueId?: string; data?: { file?: string } });
        const accepted = events.filter((e) => e.id === 1110 && e.data?.file === name);
        found.push(accepted.length === 1);
        // the event names the entry, which is still queued (killed before the upstream's 250)
        if (accepted[0]?.queueId)
          expect(fs.existsSync(path.join(spool, 'in', `${accepted[0].queueId}.imsr`))).toBe(true);
      }
    } finally {
      await sink.stop();
    }
    expect(found).toEqual(Array.from({ length: TRIALS }, () => true));
  }, 120_000);
});
