/**
 * The hostile-input corpus (test/fixtures/hostile-dialogues.json, made by make-hostile-corpus.mjs):
 * every dialogue gets exactly the replies it must get, the relay stays up, and nothing is left
 * in the spool but the messages the dialogues were meant to store. Then a bounded fast-check fuzz
 * run of random command streams.
 */
import fs from 'node:fs';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SmtpSession } from './helpers/smtp-session.js';
import { startTestRelay, type TestRelay } from './helpers/test-relay.js';

interface Step {
  send: string;
  expect: string | null;
  replies?: number;
  close?: boolean;
}
interface Dialogue {
  family: string;
  name: string;
  steps: Step[];
  stores: number;
}

const corpus = JSON.parse(
  fs.readFileSync(new URL('./fixtures/hostile-dialogues.json', import.meta.url), 'utf8'),
) as Dialogue[];

let relay: TestRelay;
beforeAll(async () => {
  relay = await startTestRelay({
    maxRecipients: '3',
    maxRecipientOvershoot: '5',
    maxHeaderBytes: '1024',
    maxMessageSize: '20000',
  });
});
afterAll(async () => {
  await relay.stop();
});

async function play(d: Dialogue): Promise<void> {
  const s = await SmtpSession.connect(relay.port);
  try {
    expect(await s.reply(), `${d.name}: greeting`).toMatch(/^220 /);
    for (const [i, step] of d.steps.entries()) {
      s.write(Buffer.from(step.send, 'utf8'));
      if (step.expect === null) continue;
      const count = step.replies ?? 1;
      const replies: string[] = [];
      // the session reads bytes as latin1; replies with UTF-8 addresses are compared as UTF-8
      for (let n = 0; n < count; n++) replies.push(Buffer.from(await s.reply(), 'latin1').toString('utf8'));
      expect(replies.join('\n'), `${d.name}: step ${i + 1}`).toMatch(new RegExp(step.expect));
      if (step.close) {
        const deadline = Date.now() + 3000;
        while (!s.closed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
        expect(s.closed, `${d.name}: connection closed`).toBe(true);
      }
    }
  } finally {
    s.close();
  }
}

describe('hostile SMTP dialogues', () => {
  it('has at least 200 dialogues', () => {
    expect(corpus.length).toBeGreaterThanOrEqual(200);
  });

  for (const family of [...new Set(corpus.map((d) => d.family))]) {
    it(`answers every ${family} dialogue as it must`, async () => {
      for (const d of corpus.filter((x) => x.family === family)) await play(d);
    });
  }

  it('is still up and left nothing behind but the messages meant to be stored', async () => {
    const s = await SmtpSession.connect(relay.port);
    expect(await s.reply()).toMatch(/^220 /);
    expect(await s.cmd('NOOP')).toBe('250 OK');
    s.close();
    expect(fs.readdirSync(relay.spool.folder('tmp'))).toEqual([]);
    const stored = corpus.reduce((n, d) => n + d.stores, 0);
    expect(await relay.spool.list('in')).toHaveLength(stored);
  });
});

describe('fuzzing', () => {
  const token = fc.oneof(
    fc.constantFrom(
      'EHLO x',
      'HELO y',
      'MAIL FROM:<a@b.test>',
      'RCPT TO:<c@d.test>',
      'DATA',
      'RSET',
      'NOOP',
      'VRFY z',
      'QUIT',
      '.',
      'STARTTLS',
      'AUTH LOGIN',
    ),
    fc.string({ maxLength: 40 }),
    fc.string({ unit: 'binary', maxLength: 60 }),
  );
  const ending = fc.constantFrom('\r\n', '\n', '\r', '');

  it('survives random command streams (bounded: 300 streams or 20 s)', async () => {
    const started = Date.now();
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(token, ending), { maxLength: 30 }), async (stream) => {
        const s = await SmtpSession.connect(relay.port);
        await s.reply(2000).catch(() => '');
        s.write(Buffer.from(stream.map(([t, e]) => t + e).join(''), 'utf8'));
        await new Promise((r) => setTimeout(r, 5));
        s.close();
        // the relay still answers a fresh connection
        const probe = await SmtpSession.connect(relay.port);
        const greeting = await probe.reply();
        probe.close();
        return greeting.startsWith('220 ');
      }),
      { numRuns: 300, interruptAfterTimeLimit: 20_000 },
    );
    expect(Date.now() - started).toBeGreaterThan(0);
    expect(fs.readdirSync(relay.spool.folder('tmp'))).toEqual([]);
  }, 60_000);
});

describe('resource limits', () => {
  it('disconnects a client that goes silent, with 421, after the socket timeout', async () => {
    const r = await startTestRelay({ socketTimeoutMs: '1000' });
    try {
      const s = await SmtpSession.connect(r.port);
      await s.reply();
      await s.cmd('EHLO slow.test');
      s.write('MAIL FROM:<a@exam'); // and nothing more
      expect(await s.reply(5000)).toMatch(/^421 /);
      const deadline = Date.now() + 2000;
      while (!s.closed && Date.now() < deadline) await new Promise((res) => setTimeout(res, 10));
      expect(s.closed).toBe(true);
    } finally {
      await r.stop();
    }
  });

  it('answers one connection more than --max-clients with 421', async () => {
    const r = await startTestRelay({ maxClients: '3' });
    try {
      const open = await Promise.all([0, 1, 2].map(() => SmtpSession.connect(r.port)));
      for (const s of open) expect(await s.reply()).toMatch(/^220 /);
      const extra = await SmtpSession.connect(r.port);
      expect(await extra.reply()).toMatch(/^421 .*Too many connected clients/);
      for (const s of open) s.close();
      extra.close();
      await new Promise((res) => setTimeout(res, 100));
      const again = await SmtpSession.connect(r.port);
      expect(await again.reply()).toMatch(/^220 /);
      again.close();
    } finally {
      await r.stop();
    }
  });
});
