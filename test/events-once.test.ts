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
