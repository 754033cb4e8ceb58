import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, startRelayProcess } from './helpers/relay-process.js';
import { SmtpSession } from './helpers/smtp-session.js';
import { tempDir } from './helpers/test-relay.js';

describe('ims-relay command line', () => {
  it('prints help listing every setting with its default and variable', async () => {
    const run = runCli(['serve', '--help']);
    expect(await run.exited).toBe(0);
    for (const text of [
      '--smtp <HOST:PORT>',
      '--max-recipients <N>',
      'IMS_RELAY_MAX_RECIPIENTS',
      'default: 32766',
      '--config <FILE>',
    ]) {
      expect(run.stdout()).toContain(text);
    }
  });

  it('exits 2 with one clear message for an invalid setting', async () => {
    const run = runCli(['serve', '--spool', tempDir()], { IMS_RELAY_PROFILE: 'exchange' });
    expect(await run.exited).toBe(2);
    expect(run.stderr()).toMatch(
      /^ims-relay: invalid setting profile \(--profile, IMS_RELAY_PROFILE\).*"exchange" from environment variable IMS_RELAY_PROFILE\n$/,
    );
  });

  it('exits 2 for an unknown flag', async () => {
    const run = runCli(['serve', '--max-recipeints', '5']);
    expect(await run.exited).toBe(2);
    expect(run.stderr()).toContain("unknown option '--max-recipeints'");
  });

  it('says where it listens, creates the spool folders, refuses a second relay on the same spool, and stops on SIGTERM', async () => {
    const spool = tempDir();
    const relay = await startRelayProcess(['--spool', spool, '--mode', 'hold']);
    const ready = JSON.parse(relay.stdout().split('\n')[0]!) as Record<string, unknown>;
    expect(ready).toMatchObject({ ready: true, smtp: `127.0.0.1:${relay.port}`, spool });
    expect(ready.message).toMatch(
      new RegExp(
        `^ims-relay ready: SMTP on 127\\.0\\.0\\.1:${relay.port}, spool ${spool}, events ${spool}/log/events\\.jsonl, admin API http://127\\.0\\.0\\.1:\\d+$`,
      ),
    );
    for (const f of ['pickup', 'in', 'out', 'bad', 'archive', 'log'])
      expect(fs.statSync(path.join(spool, f)).isDirectory()).toBe(true);

    const second = runCli(['serve', '--spool', spool, '--smtp', '127.0.0.1:0', '--http', '127.0.0.1:0']);
    expect(await second.exited).toBe(1);
    expect(second.stderr()).toContain(`is in use by another ims-relay (PID ${relay.child.pid})`);

    relay.child.kill('SIGTERM');
    expect(await relay.exited).toBe(0);
    const events = fs
      .readFileSync(path.join(spool, 'log', 'events.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(events.map((e) => e.id)).toEqual([1000, 1001]);
    expect(fs.existsSync(path.join(spool, 'ims-relay.pid'))).toBe(false);
  });

  it('on SIGTERM lets a transaction in flight finish and get its 250', async () => {
    const spool = tempDir();
    const relay = await startRelayProcess(['--spool', spool, '--mode', 'hold']);
    const s = await SmtpSession.connect(relay.port);
    await s.reply();
    await s.cmd('EHLO client.test');
    await s.cmd('MAIL FROM:<a@example.test>');
    await s.cmd('RCPT TO:<b@example.test>');
    await s.cmd('DATA');
    s.write('Subject: in flight\r\n\r\nfirst half\r\n');
    relay.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 200));
    s.write('second half\r\n.\r\n');
    expect(await s.reply()).toMatch(/^250 OK: queued as/);
    expect(await s.cmd('MAIL FROM:<a@example.test>')).toMatch(/^421 /);
    s.close();
    expect(await relay.exited).toBe(0);
    expect(fs.readdirSync(path.join(spool, 'in'))).toHaveLength(1);
  });
});

describe('repeatable flags', () => {
  it('takes every --fail rule given on the command line', async () => {
    const spool = tempDir();
    const relay = await startRelayProcess([
      '--spool',
      spool,
      '--mode',
      'capture',
      '--fail',
      '*@a.test=550 5.1.1 No such user here',
      '--fail',
      '*@b.test=550 5.1.2 No such domain',
    ]);
    try {
      const s = await SmtpSession.ready(relay.port);
      expect(await s.submit('<>', ['<x@a.test>', '<y@b.test>'], 'Subject: rules\r\n\r\nx')).toMatch(/^250/);
      s.close();
      const events = path.join(spool, 'log', 'events.jsonl');
      const archived = await new Promise<{ data: { failed: number } }>((resolve) => {
        const poll = setInterval(() => {
          const e = fs
            .readFileSync(events, 'utf8')
            .split('\n')
            .filter(Boolean)
            .map((l) => JSON.parse(l))
            .find((x) => x.id === 4117);
          if (e) {
            clearInterval(poll);
            resolve(e);
          }
        }, 50);
      });
      expect(archived.data.failed).toBe(2);
    } finally {
      relay.child.kill('SIGTERM');
      await relay.exited;
    }
  });
});
