import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeEntry } from '../src/spool/entry-format.js';
import { startRelayProcess } from './helpers/relay-process.js';
import { SmtpSession } from './helpers/smtp-session.js';
import { tempDir } from './helpers/test-relay.js';
import { waitFor } from './helpers/wait-for.js';

describe('crash after 250', () => {
  it('keeps every acknowledged message and its envelope across SIGKILL; startup removes leftovers', async () => {
    const spool = tempDir();
    const relay = await startRelayProcess(['--spool', spool, '--mode', 'hold']);
    const s = await SmtpSession.connect(relay.port);
    await s.reply();
    await s.cmd('EHLO client.test');
    const acknowledged: string[] = [];
    for (let i = 0; i < 5; i++) {
      await s.cmd('MAIL FROM:<sender@example.test> ENVID=run' + i);
      await s.cmd(`RCPT TO:<one${i}@example.test> NOTIFY=FAILURE`);
      await s.cmd(`RCPT TO:<two${i}@example.test>`);
      await s.cmd('DATA');
      const reply = await s.cmd(`Subject: message ${i}\r\n\r\n${'body '.repeat(1000)}\r\n.`);
      expect(reply).toMatch(/^250 OK: queued as/);
      acknowledged.push(reply.split(' ').pop()!);
    }
    // start another message and kill the relay in the middle of it
    await s.cmd('MAIL FROM:<sender@example.test>');
    await s.cmd('RCPT TO:<late@example.test>');
    await s.cmd('DATA');
    s.write('Subject: never acknowledged\r\n\r\n' + 'x'.repeat(200_000));
    await new Promise((r) => setTimeout(r, 100));
    relay.child.kill('SIGKILL');
    expect(await relay.exited).toBe('SIGKILL');
    s.close();

    // a half-written file as a crash in the middle of a write leaves it
    fs.writeFileSync(path.join(spool, 'tmp', 'leftover.imsr'), 'IMSR/1 99\n{"partial');
    fs.rmSync(path.join(spool, 'ims-relay.pid'), { force: true }); // SIGKILL left it; it must not matter either way
    const again = await startRelayProcess(['--spool', spool, '--mode', 'hold']);
    try {
      const files = fs.readdirSync(path.join(spool, 'in')).sort();
      expect(files.map((f) => f.replace(/\.imsr$/, ''))).toEqual(acknowledged);
      files.forEach((file, i) => {
        const decoded = decodeEntry(fs.readFileSync(path.join(spool, 'in', file)));
        expect(decoded.ok).toBe(true);
        if (!decoded.ok) return;
        expect(decoded.envelope.dsn.envid).toBe('run' + i);
        expect(decoded.envelope.recipients).toEqual([
          { address: `one${i}@example.test`, notify: ['FAILURE'] },
          { address: `two${i}@example.test` },
        ]);
        expect(decoded.message.toString()).toContain(`Subject: message ${i}\r\n`);
      });
      expect(fs.readdirSync(path.join(spool, 'tmp'))).toEqual([]);
      // the event is written to the file asynchronously
      await waitFor('event 2220 in the events file', () =>
        fs.readFileSync(path.join(spool, 'log', 'events.jsonl'), 'utf8').includes('"id":2220'),
      );
    } finally {
      again.child.kill('SIGTERM');
      await again.exited;
    }
  });

  it('takes over a spool whose owner was killed, without removing the lock by hand', async () => {
    const spool = tempDir();
    const first = await startRelayProcess(['--spool', spool, '--mode', 'hold']);
    first.child.kill('SIGKILL');
    await first.exited;
    expect(fs.existsSync(path.join(spool, 'ims-relay.pid'))).toBe(true);
    const second = await startRelayProcess(['--spool', spool, '--mode', 'hold']);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  });
});
