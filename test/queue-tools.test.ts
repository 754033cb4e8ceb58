import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, startRelayProcess } from './helpers/relay-process.js';
import { SmtpSession } from './helpers/smtp-session.js';
import { tempDir } from './helpers/test-relay.js';
import { capturedFiles } from './helpers/captured.js';
import { waitFor } from './helpers/wait-for.js';

async function cli(args: string[], env: Record<string, string> = {}) {
  const run = runCli(args, env);
  const code = await run.exited;
  return { code, out: run.stdout(), err: run.stderr() };
}

async function sendOne(port: number, to: string[], subject: string): Promise<string> {
  const s = await SmtpSession.ready(port);
  const reply = await s.submit(
    '<sender@example.test>',
    to.map((r) => `<${r}>`),
    `From: sender@example.test\r\nSubject: ${subject}\r\n\r\nbody`,
  );
  s.close();
  return reply.split(' ').pop()!;
}

describe('queue tools', () => {
  it('work on a running relay through its admin API: list, show, hold, release, retry', async () => {
    const spool = tempDir();
    const relay = await startRelayProcess([
      '--spool',
      spool,
      '--mode',
      'capture',
      '--fail',
      'later@example.test=451 4.3.0 Try later',
      '--retry-initial',
      '1h',
    ]);
    try {
      const id = await sendOne(relay.port, ['later@example.test'], 'queued one');
      await waitFor('a deferred attempt', () =>
        fs.readFileSync(path.join(spool, 'in', `${id}.journal`), 'utf8').includes('deferred'),
      );

      const list = await cli(['queue', 'list', '--spool', spool]);
      expect(list.code).toBe(0);
      expect(list.out).toContain('in/: 1 message');
      expect(list.out).toMatch(
        new RegExp(`${id} .* 1 rcpt .*0/0/1 .*sender@example.test .*deferred: 451 4\\.3\\.0 Try later`),
      );

      const json = JSON.parse((await cli(['queue', 'list', '--spool', spool, '--json'])).out);
      expect(json.items[0]).toMatchObject({ queueId: id, deferred: 1, held: false });

      const show = await cli(['queue', 'show', id, '--spool', spool]);
      expect(show.code).toBe(0);
      expect(show.out).toContain('subject:   queued one');
      expect(show.out).toContain('later@example.test  deferred 4.3.0  451 4.3.0 Try later');
      const headers = await cli(['queue', 'show', id, '--headers', '--spool', spool]);
      expect(headers.out).toMatch(/^Received: from client\.test/);
      expect(headers.out).toContain('Subject: queued one\r\n');
      expect(headers.out).not.toContain('body');
      const envelope = JSON.parse((await cli(['queue', 'show', id, '--envelope', '--spool', spool])).out);
      expect(envelope.recipients).toEqual([{ address: 'later@example.test' }]);

      expect((await cli(['queue', 'hold', id, '--spool', spool])).out).toContain('is held');
      expect(JSON.parse((await cli(['queue', 'list', '--spool', spool, '--json'])).out).items[0].held).toBe(
        true,
      );
      const released = await cli(['queue', 'release', id, '--spool', spool]);
      expect(released.out).toContain('is released');
      // released = due now: a second attempt happens at once instead of in an hour
      await waitFor(
        'the second attempt',
        () =>
          (fs.readFileSync(path.join(spool, 'in', `${id}.journal`), 'utf8').match(/"t":"attempt"/g) ?? [])
            .length >= 2,
      );
      const retried = await cli(['queue', 'retry', id, '--spool', spool]);
      expect(retried.code).toBe(0);
      await waitFor(
        'the third attempt',
        () =>
          (fs.readFileSync(path.join(spool, 'in', `${id}.journal`), 'utf8').match(/"t":"attempt"/g) ?? [])
            .length >= 3,
      );
    } finally {
      relay.child.kill('SIGTERM');
      await relay.exited;
    }
  }, 60_000);

  it('work on a spool with no relay: replay from bad/, delete, clear errors and exit codes', async () => {
    const spool = tempDir();
    const relay = await startRelayProcess(['--spool', spool, '--mode', 'hold']);
    const a = await sendOne(relay.port, ['a@example.test'], 'first');
    const b = await sendOne(relay.port, ['b@example.test'], 'second');
    relay.child.kill('SIGTERM');
    await relay.exited;
    fs.renameSync(path.join(spool, 'in', `${a}.imsr`), path.join(spool, 'bad', `${a}.imsr`));

    expect((await cli(['queue', 'list', '--folder', 'bad', '--spool', spool])).out).toContain(a);
    const replay = await cli(['queue', 'replay', a, '--spool', spool]);
    expect(replay).toMatchObject({ code: 0 });
    expect(replay.out).toContain(`${a} replayed from bad/ into in/`);
    expect(fs.existsSync(path.join(spool, 'in', `${a}.imsr`))).toBe(true);

    const del = await cli(['queue', 'delete', b, '--spool', spool]);
    expect(del.code).toBe(0);
    expect(fs.existsSync(path.join(spool, 'in', `${b}.imsr`))).toBe(false);

    const unknown = await cli(['queue', 'show', '19A9D54B1F0-00003-7C1E', '--spool', spool]);
    expect(unknown.code).toBe(1);
    expect(unknown.err).toContain('no message 19A9D54B1F0-00003-7C1E in in/, out/, bad/, archive/');
    const notAnId = await cli(['queue', 'retry', '../etc/passwd', '--spool', spool]);
    expect(notAnId.code).toBe(1);
    expect(notAnId.err).toContain('is not a queue ID');
    const wrongFolder = await cli(['queue', 'list', '--folder', 'outbox', '--spool', spool]);
    expect(wrongFolder.code).toBe(2);
    expect(wrongFolder.err).toContain('unknown folder "outbox"');
    const retryArchived = await cli(['queue', 'replay', a, '--spool', spool]);
    expect(retryArchived.code).toBe(1);
    expect(retryArchived.err).toContain('already queued in in/: use retry');
    const bulkDelete = await cli(['queue', 'delete', '--all', '--spool', spool]);
    expect(bulkDelete.code).toBe(2);
    expect(bulkDelete.err).toContain('needs --folder');
    // the lock was released after each command: a relay can start on the spool
    expect(fs.existsSync(path.join(spool, 'ims-relay.pid'))).toBe(false);
  }, 60_000);

  it('refuse to work behind the back of a relay whose admin API is off', async () => {
    const spool = tempDir();
    const relay = await startRelayProcess(['--spool', spool, '--mode', 'hold', '--http', 'off']);
    try {
      const list = await cli(['queue', 'list', '--spool', spool]);
      expect(list.code).toBe(1);
      expect(list.err).toContain(
        `the relay (PID ${relay.child.pid}) runs on ${spool} with its admin API off`,
      );
    } finally {
      relay.child.kill('SIGTERM');
      await relay.exited;
    }
  });
});

describe('events and mailbox commands', () => {
  it('print events filtered by ID and mailboxes with their messages', async () => {
    const spool = tempDir();
    const relay = await startRelayProcess(['--spool', spool, '--mode', 'capture', '--max-recipients', '1']);
    try {
      const id = await sendOne(relay.port, ['one@example.test', 'two@example.test'], 'events');
      await waitFor('delivery', () => capturedFiles(spool, 'one@example.test').length === 1);
      const capped = await cli(['events', '--id', '2100', '--spool', spool]);
      expect(capped.code).toBe(0);
      expect(capped.out).toMatch(new RegExp(`2100  Warning .*${id}.*1 RCPT answered 452 after 1 accepted`));
      const json = (await cli(['events', '--json', '--id', '1100', '--spool', spool])).out
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(json.map((e) => e.queueId)).toEqual([id]);
      expect((await cli(['events', '--id', 'x', '--spool', spool])).code).toBe(2);
      const boxes = await cli(['mailbox', 'list', '--spool', spool]);
      expect(boxes.out).toMatch(/1 {2}one@example\.test/);
      const show = await cli(['mailbox', 'show', 'ONE@example.test', '--spool', spool]);
      expect(show.out).toContain(`${id}.1  sender@example.test  events`);
      expect(show.out).toContain(path.join(spool, 'store', 'messages', `${id}.1.eml`));
      expect((await cli(['mailbox', 'show', 'nobody@example.test', '--spool', spool])).code).toBe(1);
      // the index cannot be rebuilt under a running relay
      expect((await cli(['store', 'reindex', '--spool', spool])).code).toBe(1);
      expect((await cli(['mailbox', 'delete', '--spool', spool])).code).toBe(2);
      expect((await cli(['mailbox', 'delete', 'one@example.test', '--spool', spool])).out).toBe(
        '1 message(s) deleted\n',
      );
      expect(capturedFiles(spool, 'one@example.test')).toEqual([]);
      expect(fs.readdirSync(path.join(spool, 'store', 'messages'))).toEqual([]);
    } finally {
      relay.child.kill('SIGTERM');
      await relay.exited;
    }
  });
});
