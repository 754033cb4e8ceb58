import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { capturedFiles, capturedMailboxes } from './helpers/captured.js';
import { encodeEntry } from '../src/spool/entry-format.js';
import type { Envelope } from '../src/message/envelope.js';
import { QueueIdGenerator } from '../src/spool/queue-id.js';
import { replayJournal } from '../src/spool/recipient-journal.js';
import { startRelayProcess } from './helpers/relay-process.js';
import { SlowUpstream } from './helpers/slow-upstream.js';
import { SmtpSession } from './helpers/smtp-session.js';
import { startTestRelay, tempDir, type TestRelay } from './helpers/test-relay.js';
import { waitFor } from './helpers/wait-for.js';

let relay: TestRelay | undefined;
afterEach(async () => {
  await relay?.stop();
  relay = undefined;
});

const ids = new QueueIdGenerator();

function envelope(overrides: Partial<Envelope> = {}): Envelope {
  return {
    version: 1,
    queueId: ids.next(),
    arrivedAt: new Date().toISOString(),
    sender: 'a@example.test',
    recipients: [{ address: 'b@example.test' }],
    dsn: {},
    bodyType: '7bit',
    smtpUtf8: false,
    source: 'smtp',
    ...overrides,
  };
}

describe('poison messages', () => {
  it('quarantines an entry whose processing keeps throwing with 4116, and the rest keeps flowing', async () => {
    const spool = tempDir();
    fs.mkdirSync(path.join(spool, 'in'), { recursive: true });
    // a recipient address that is not a string: decodes, but processing it throws
    const poison = envelope({ recipients: [{ address: 42 as unknown as string }] });
    fs.writeFileSync(
      path.join(spool, 'in', `${poison.queueId}.imsr`),
      encodeEntry(poison, Buffer.from('Subject: poison\r\n\r\nx\r\n')),
    );
    const good = envelope({ recipients: [{ address: 'fine@example.test' }] });
    fs.writeFileSync(
      path.join(spool, 'in', `${good.queueId}.imsr`),
      encodeEntry(good, Buffer.from('Subject: good\r\n\r\nx\r\n')),
    );
    relay = await startTestRelay({ spool, mode: 'capture', maxProcessingFailures: '2' });
    await waitFor('the good message delivered', () => capturedFiles(spool, 'fine@example.test').length === 1);
    await waitFor(
      'the poison in bad/',
      async () => (await relay!.spool.list('bad')).includes(poison.queueId),
      10_000,
    );
    await waitFor('event 4116', () => relay!.eventsSeen().find((e) => e.id === 4116)); // it follows the move
    const events = relay.eventsSeen();
    // once with the others (it becomes a suspect, 2251), then twice alone (2252) before bad/
    expect(events.filter((e) => e.id === 4131 && e.queueId === poison.queueId)).toHaveLength(3);
    expect(events.filter((e) => e.id === 2251).map((e) => e.queueId)).toEqual([poison.queueId]);
    expect(events.filter((e) => e.id === 2252 && e.queueId === poison.queueId)).toHaveLength(2);
    const quarantined = events.find((e) => e.id === 4116);
    expect(quarantined?.queueId).toBe(poison.queueId);
    expect(String(quarantined?.data?.reason)).toContain(
      'alone ended in a crash or an error 2 times in a row',
    );
    // the journal went along
    expect(fs.existsSync(relay.spool.journalPath('bad', poison.queueId))).toBe(true);
  });

  it('quarantines an entry that cannot be decoded', async () => {
    const spool = tempDir();
    fs.mkdirSync(path.join(spool, 'in'), { recursive: true });
    const env = envelope();
    const bytes = encodeEntry(env, Buffer.from('Subject: cut\r\n\r\nbody\r\n'));
    fs.writeFileSync(path.join(spool, 'in', `${env.queueId}.imsr`), bytes.subarray(0, bytes.length - 10));
    relay = await startTestRelay({ spool, mode: 'capture' });
    await waitFor('bad/', async () => (await relay!.spool.list('bad')).includes(env.queueId));
    const quarantined = await waitFor('event 4116', () => relay!.eventsSeen().find((e) => e.id === 4116));
    expect(String(quarantined.data?.reason)).toContain('truncated');
  });
});

describe('restart during delivery', () => {
  it('never delivers twice to a recipient already done', async () => {
    const spool = tempDir();
    const first = await startRelayProcess([
      '--spool',
      spool,
      '--mode',
      'capture',
      '--delivery-concurrency',
      '1',
    ]);
    const s = await SmtpSession.connect(first.port);
    await s.reply();
    await s.cmd('EHLO client.test');
    const total = 3000;
    const lines = ['MAIL FROM:<bulk@example.test>'];
    for (let i = 0; i < total; i++) lines.push(`RCPT TO:<r${i}@example.test>`);
    lines.push('DATA');
    s.write(lines.join('\r\n') + '\r\n');
    for (let i = 0; i < total + 2; i++) await s.reply();
    expect(await s.cmd('Subject: restart\r\n\r\nbody\r\n.')).toMatch(/^250/);
    s.close();
    const messages = path.join(spool, 'store', 'messages');
    // kill it as soon as the capture's file is there (before or after the index and the journal)
    await waitFor('the capture file', () => fs.existsSync(messages) && fs.readdirSync(messages).length > 0);
    first.child.kill('SIGKILL');
    await first.exited;

    const second = await startRelayProcess(['--spool', spool, '--mode', 'capture']);
    try {
      await waitFor('the queue to empty', () => fs.readdirSync(path.join(spool, 'in')).length === 0, 60_000);
      const boxes = capturedMailboxes(spool);
      expect(boxes).toHaveLength(total);
      expect(boxes.every((b) => b.messages === 1)).toBe(true);
      expect(fs.readdirSync(messages)).toHaveLength(1);
    } finally {
      second.child.kill('SIGTERM');
      await second.exited;
    }
  });
});

describe('reports', () => {
  it('logs 4120 when an NDR cannot be written, keeps the message, and queues the NDR once it can', async () => {
    relay = await startTestRelay({
      mode: 'capture',
      fail: ['*@bounce.test=550 5.1.1 User unknown'],
      retryInitial: '300ms',
    });
    const out = relay.spool.folder('out');
    fs.rmSync(out, { recursive: true });
    fs.writeFileSync(out, 'not a directory'); // the NDR cannot be committed to out/
    const s = await SmtpSession.ready(relay.port);
    const reply = await s.submit(
      '<sender@example.test>',
      ['<x@bounce.test>'],
      'Subject: no room for the NDR\r\n\r\nbody',
    );
    const queueId = reply.split(' ').pop()!;
    s.close();
    await waitFor('event 4120', () =>
      relay!.eventsSeen().some((e) => e.id === 4120 && e.queueId === queueId),
    );
    expect(await relay.spool.list('in')).toEqual([queueId]); // kept, not lost
    fs.rmSync(out);
    fs.mkdirSync(out, { mode: 0o700 });
    const box = () => capturedFiles(relay!.config.spool, 'sender@example.test');
    await waitFor('the NDR after all', () => box().length === 1);
    await waitFor('the original archived', async () =>
      (await relay!.spool.list('archive')).includes(queueId),
    );
    await relay.delivery!.idle();
    expect(box()).toHaveLength(1);
  });

  it('sends no report about a report that could not be delivered', async () => {
    // the sender's own address fails too, so the NDR to it fails
    relay = await startTestRelay({ mode: 'capture', fail: ['*@bounce.test=550 5.1.1 User unknown'] });
    const s = await SmtpSession.ready(relay.port);
    await s.submit('<sender@bounce.test>', ['<x@bounce.test>'], 'Subject: double bounce\r\n\r\nbody');
    s.close();
    await waitFor('original and NDR archived', async () => (await relay!.spool.list('archive')).length === 2);
    await relay.delivery!.idle();
    expect(await relay.spool.list('out')).toEqual([]);
    expect(relay.eventsSeen().filter((e) => e.id === 4117)).toHaveLength(2);
    const archived = await Promise.all(
      (await relay.spool.list('archive')).map((id) => relay!.spool.readEntry('archive', id)),
    );
    expect(archived.map((e) => e.ok && e.envelope.sender).sort()).toEqual(['', 'sender@bounce.test']);
  });
});

describe('stopping during a large delivery', () => {
  it('exits 0 promptly when stopped right after a 6,000-recipient message is accepted, and the next start captures each recipient once', async () => {
    const spool = tempDir();
    const first = await startRelayProcess(['--spool', spool, '--mode', 'capture']);
    const s = await SmtpSession.connect(first.port);
    await s.reply();
    await s.cmd('EHLO client.test');
    const total = 6000;
    const lines = ['MAIL FROM:<bulk@example.test>'];
    for (let i = 0; i < total; i++) lines.push(`RCPT TO:<s${i}@example.test>`);
    lines.push('DATA');
    s.write(lines.join('\r\n') + '\r\n');
    for (let i = 0; i < total + 2; i++) await s.reply();
    expect(await s.cmd('Subject: stop\r\n\r\nbody\r\n.')).toMatch(/^250/);
    s.close();
    // the store captures a message in one go (one file, one transaction): the stop comes while it
    // is delivered or just after, and waits for it
    const stoppedAt = Date.now();
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    expect(Date.now() - stoppedAt).toBeLessThan(10_000); // well inside --shutdown-timeout-ms

    const second = await startRelayProcess(['--spool', spool, '--mode', 'capture']);
    try {
      await waitFor('the rest delivered', () => fs.readdirSync(path.join(spool, 'in')).length === 0, 60_000);
      const boxes = capturedMailboxes(spool);
      expect(boxes).toHaveLength(total);
      expect(boxes.every((b) => b.messages === 1)).toBe(true);
    } finally {
      second.child.kill('SIGTERM');
      await second.exited;
    }
  }, 90_000);
});

describe('stopping during a large delivery to a real upstream (relay mode)', () => {
  it('SIGTERM while the upstream holds a batch: the relay stops after that batch, the rest stays queued and is delivered after the restart exactly once', async () => {
    // a next hop that holds each message 500 ms before its 250; the relay sends 1,000 recipients
    // per transaction (the default --upstream-max-recipients), so 5,000 take five transactions
    const sink = new SlowUpstream(500);
    await sink.start();
    const spool = tempDir();
    const args = ['--spool', spool, '--mode', 'relay', '--upstream', `smtp://127.0.0.1:${sink.port}`];
    try {
      const first = await startRelayProcess(args);
      const s = await SmtpSession.ready(first.port);
      const total = 5000;
      const lines = ['MAIL FROM:<bulk@example.test>'];
      for (let i = 0; i < total; i++) lines.push(`RCPT TO:<t${i}@example.test>`);
      lines.push('DATA');
      s.write(lines.join('\r\n') + '\r\n');
      for (let i = 0; i < total + 2; i++) await s.reply();
      const reply = await s.cmd('Subject: stop in the middle\r\n\r\nbody\r\n.');
      expect(reply).toMatch(/^250 /);
      const queueId = reply.split(' ').pop()!;
      s.close();
      await waitFor('the first batch held by the upstream', () => sink.held === 1);
      first.child.kill('SIGTERM');
      expect(await first.exited).toBe(0);
      // the batch in flight was finished (its 250 awaited and journaled), no further one started
      expect(sink.heldTotal).toBe(1);
      expect(sink.dropped).toBe(0);
      expect(sink.accepted.map((m) => m.to.length)).toEqual([1000]);
      // still queued, with the first batch's outcomes in its journal: nothing lost
      expect(fs.existsSync(path.join(spool, 'in', `${queueId}.imsr`))).toBe(true);
      const journal = fs.readFileSync(path.join(spool, 'in', `${queueId}.journal`), 'utf8');
      expect(replayJournal(journal).done.size).toBe(1000);

      const second = await startRelayProcess(args);
      try {
        await waitFor(
          'the rest delivered',
          () => !fs.existsSync(path.join(spool, 'in', `${queueId}.imsr`)),
          60_000,
        );
      } finally {
        second.child.kill('SIGTERM');
        expect(await second.exited).toBe(0);
      }
      const copies = sink.copies(queueId);
      expect(copies.size).toBe(total);
      expect([...copies.values()].every((n) => n === 1)).toBe(true);
      expect(sink.accepted.map((m) => m.to.length)).toEqual([1000, 1000, 1000, 1000, 1000]);
      expect(fs.readdirSync(path.join(spool, 'bad'))).toEqual([]);
    } finally {
      await sink.stop();
    }
  }, 90_000);
});

describe('a spool file that cannot be read (Q317653: an antivirus scanner holds it)', () => {
  // root reads every file whatever its mode, so the relay runs as the unprivileged user nobody
  // (spawned with its uid and gid) and the entry is made unreadable with a real chmod 000
  const asRoot = process.getuid?.() === 0;

  async function lockedSpool() {
    const { execFileSync } = await import('node:child_process');
    const spool = tempDir();
    fs.chmodSync(spool, 0o755);
    fs.mkdirSync(path.join(spool, 'in'), { recursive: true });
    const locked = envelope({ recipients: [{ address: 'locked@example.test' }] });
    const fine = envelope({ recipients: [{ address: 'fine@example.test' }] });
    for (const e of [locked, fine]) {
      fs.writeFileSync(
        path.join(spool, 'in', `${e.queueId}.imsr`),
        encodeEntry(e, Buffer.from(`Subject: ${e.queueId}\r\n\r\nx\r\n`)),
      );
    }
    execFileSync('chown', ['-R', 'nobody:nogroup', spool]);
    const entry = path.join(spool, 'in', `${locked.queueId}.imsr`);
    fs.chmodSync(entry, 0o000); // unreadable for its owner
    const nobody = {
      uid: Number(execFileSync('id', ['-u', 'nobody']).toString()),
      gid: Number(execFileSync('id', ['-g', 'nobody']).toString()),
    };
    return { spool, locked, entry, nobody };
  }

  type Logged = { id: number; queueId?: string; data?: Record<string, unknown> };
  const readEvents = (spool: string) =>
    fs
      .readFileSync(path.join(spool, 'log', 'events.jsonl'), 'utf8')
      .split('\n')
      .filter((l) => l.endsWith('}'))
      .map((l) => JSON.parse(l) as Logged);

  it.skipIf(!asRoot)(
    'backs off like any deferral (--retry-initial, doubling), is not a processing failure, and is delivered once readable',
    async () => {
      const { spool, locked, entry, nobody } = await lockedSpool();
      const relay = await startRelayProcess(
        ['--spool', spool, '--mode', 'capture', '--retry-initial', '200ms', '--retry-max', '10m'],
        {},
        nobody,
      );
      try {
        await waitFor(
          'the readable one delivered',
          () => capturedFiles(spool, 'fine@example.test').length === 1,
        );
        // four tries: more than --max-processing-failures (3), and nothing goes to bad/
        const journalFile = path.join(spool, 'in', `${locked.queueId}.journal`);
        const records = () =>
          fs
            .readFileSync(journalFile, 'utf8')
            .split('\n')
            .filter(Boolean)
            .map((l) => JSON.parse(l) as { t: string; at: string; n?: number });
        await waitFor('four tries', () => records().filter((r) => r.t === 'retry').length >= 4, 30_000);
        expect(fs.readdirSync(path.join(spool, 'bad'))).toEqual([]);
        // each retry is scheduled initial * 2^(n-1) after its attempt started: 200, 400, 800, 1600 ms
        const list = records();
        const delays: number[] = [];
        list.forEach((r, i) => {
          if (r.t !== 'attempt') return;
          const retry = list.slice(i + 1).find((x) => x.t === 'retry');
          if (retry) delays.push(Date.parse(retry.at) - Date.parse(r.at));
        });
        expect(delays.slice(0, 4)).toEqual([200, 400, 800, 1600]);
        // every attempt ended: a lock is a deferral, not a crash
        expect(list.filter((r) => r.t === 'attempt').length).toBe(
          list.filter((r) => r.t === 'attempt-end').length,
        );
        fs.chmodSync(entry, 0o600); // the scanner lets go
        await waitFor(
          'the locked one delivered',
          () => capturedFiles(spool, 'locked@example.test').length === 1,
          30_000,
        );
        await waitFor('event 2254 in the events file', () => readEvents(spool).some((e) => e.id === 2254));
        const unreadable = readEvents(spool).filter((e) => e.id === 2254 && e.queueId === locked.queueId);
        expect(unreadable[0]!.data?.code).toBe('EACCES');
        expect(readEvents(spool).some((e) => e.id === 4116)).toBe(false);
      } finally {
        relay.child.kill('SIGTERM');
        await relay.exited;
      }
      expect(fs.readdirSync(path.join(spool, 'bad'))).toEqual([]);
    },
    60_000,
  );

  it.skipIf(!asRoot)(
    'goes to bad/ with a clear 4116 only when it stayed unreadable for the whole --lifetime',
    async () => {
      const { spool, locked, nobody } = await lockedSpool();
      const relay = await startRelayProcess(
        ['--spool', spool, '--mode', 'capture', '--retry-initial', '300ms', '--lifetime', '3s'],
        {},
        nobody,
      );
      try {
        await waitFor(
          'the locked one in bad/',
          () => fs.existsSync(path.join(spool, 'bad', `${locked.queueId}.imsr`)),
          30_000,
        );
        await waitFor('event 4116 in the events file', () => readEvents(spool).some((e) => e.id === 4116));
        const events = readEvents(spool);
        expect(
          events.filter((e) => e.id === 2254 && e.queueId === locked.queueId).length,
        ).toBeGreaterThanOrEqual(2); // retried first (how often depends on how fast the relay starts)
        const quarantined = events.find((e) => e.id === 4116 && e.queueId === locked.queueId);
        expect(String(quarantined?.data?.reason)).toMatch(
          /could not be read for its whole lifetime \(3s, \d+ attempts\): cannot read: EACCES/,
        );
        expect(capturedFiles(spool, 'fine@example.test')).toHaveLength(1);
      } finally {
        relay.child.kill('SIGTERM');
        await relay.exited;
      }
    },
    60_000,
  );
});
