/**
 * Every resource has a bound; nothing leaks (issue 12, section 5): descriptors of clients that
 * vanish in DATA (a real process under `prlimit --nofile`), the replies of a client that
 * half-closes, slow clients (transaction deadline, connections per address), recipients held in
 * open transactions, and quoted local parts.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { resolveConfig } from '../src/config/relay-config.js';
import { EventLog } from '../src/events/event-log.js';
import { SmtpListener } from '../src/server/smtp-listener.js';
import { Spool } from '../src/spool/spool.js';
import { startRelayProcess, type RelayProcess } from './helpers/relay-process.js';
import { SmtpSession } from './helpers/smtp-session.js';
import { startTestRelay, tempDir, type TestRelay } from './helpers/test-relay.js';
import { waitFor } from './helpers/wait-for.js';

let relay: TestRelay | undefined;
let proc: RelayProcess | undefined;
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await relay?.stop();
  relay = undefined;
  if (proc && proc.child.exitCode === null && proc.child.signalCode === null) {
    proc.child.kill('SIGKILL');
    await proc.exited;
  }
  proc = undefined;
  for (const c of cleanups.splice(0)) await c();
});

const hasPrlimit = (() => {
  try {
    execFileSync('prlimit', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/** A client that starts a message of `bytes` and vanishes (FIN or RST) in the middle of it. */
async function vanishInData(port: number, bytes: number, how: 'end' | 'reset'): Promise<void> {
  const s = await SmtpSession.ready(port);
  await s.cmd('MAIL FROM:<a@example.test>');
  await s.cmd('RCPT TO:<b@example.test>');
  await s.cmd('DATA');
  const line = 'x'.repeat(998) + '\r\n';
  s.write('Subject: vanishing\r\n\r\n' + line.repeat(Math.ceil(bytes / line.length)));
  const socket = (s as unknown as { socket: net.Socket }).socket;
  if (how === 'reset') socket.resetAndDestroy();
  else socket.end();
  await new Promise((r) => socket.once('close', r));
}

const openDescriptors = (pid: number) => fs.readdirSync(`/proc/${pid}/fd`).length;

describe('descriptors', () => {
  it.skipIf(!hasPrlimit)(
    'keeps neither descriptors nor tmp/ files of clients that vanish past 256 KB (prlimit --nofile)',
    async () => {
      const spool = tempDir();
      proc = await startRelayProcess(['--spool', spool, '--mode', 'hold', '--http', 'off']);
      const pid = proc.child.pid!;
      const baseline = openDescriptors(pid);
      // the running relay may hold 24 descriptors more than it does idle: the leak used to pass that
      execFileSync('prlimit', ['--pid', String(pid), `--nofile=${baseline + 24}:${baseline + 24}`]);
      for (let i = 0; i < 120; i++)
        await vanishInData(proc.port, 256 * 1024 + (i % 8) * 4096, i % 2 ? 'end' : 'reset');
      await waitFor('tmp/ empty', () => fs.readdirSync(path.join(spool, 'tmp')).length === 0);
      await waitFor('descriptors back to the idle count', () => openDescriptors(pid) <= baseline + 1);
      const s = await SmtpSession.ready(proc.port);
      expect(
        await s.submit('<a@example.test>', ['<b@example.test>'], 'Subject: after\r\n\r\nstill here'),
      ).toMatch(/^250 OK: queued as /);
      s.close();
    },
  );
});

describe('half-close', () => {
  it('answers a pipelined transaction whose client half-closed, with and without QUIT', async () => {
    relay = await startTestRelay();
    for (const quit of [true, false]) {
      const socket = net.connect(relay.port, '127.0.0.1');
      let text = '';
      socket.setEncoding('latin1');
      socket.on('data', (d: string) => (text += d));
      await new Promise((r) => socket.once('data', r));
      socket.write(
        'EHLO c.test\r\nMAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n' +
          'Subject: half\r\n\r\nbody\r\n.\r\n' +
          (quit ? 'QUIT\r\n' : ''),
      );
      socket.end(); // shutdown(SHUT_WR): the client can still read
      await new Promise((r) => socket.once('close', r));
      expect(text).toMatch(/\r\n250 OK: queued as \S+\r\n/);
      if (quit) expect(text).toMatch(/221 .*\r\n$/);
    }
    expect(relay.entries()).toHaveLength(2); // each stored once, each acknowledged
  });
});

describe('slow clients', () => {
  it('closes a transaction that trickles past --transaction-timeout, storing nothing', async () => {
    relay = await startTestRelay({ transactionTimeout: '1s' });
    const s = await SmtpSession.ready(relay.port);
    await s.cmd('MAIL FROM:<a@example.test>');
    await s.cmd('RCPT TO:<b@example.test>');
    expect(await s.cmd('DATA')).toMatch(/^354 /);
    const trickle = setInterval(() => s.write('x'), 100); // 10 bytes/s: the idle timeout never fires
    try {
      expect(await s.reply(20_000)).toMatch(/^421 .*Transaction time limit exceeded/);
    } finally {
      clearInterval(trickle);
    }
    await waitFor('the connection closed', () => s.closed);
    expect(relay.entries()).toEqual([]);
    expect(fs.readdirSync(path.join(relay.spool.dir, 'tmp'))).toEqual([]);
    expect(relay.eventsSeen().some((e) => e.id === 2140 && e.data?.limit === 'transaction-time')).toBe(true);
    // a transaction that ends in time is not cut (default deadline 10m)
    const t = await SmtpSession.ready(relay.port);
    expect(await t.submit('<a@example.test>', ['<b@example.test>'], 'Subject: ok\r\n\r\nok')).toMatch(
      /^250 /,
    );
    t.close();
  });

  it('caps connections per client address (--max-connections-per-ip)', async () => {
    relay = await startTestRelay({ maxConnectionsPerIp: 3 });
    const open = await Promise.all([1, 2, 3].map(() => SmtpSession.ready(relay!.port)));
    const fourth = await SmtpSession.connect(relay.port);
    expect(await fourth.reply()).toMatch(/^421 .*Too many connections from your address/);
    await waitFor('the fourth closed', () => fourth.closed);
    expect(
      relay
        .eventsSeen()
        .filter((e) => e.id === 2140)
        .map((e) => e.data),
    ).toEqual([{ limit: 'connections-per-ip', client: '127.0.0.1', value: 3 }]);
    const elsewhere = await SmtpSession.connectFrom(relay.port, '127.0.0.2');
    expect(await elsewhere.reply()).toMatch(/^220 /);
    open[0]!.close();
    await waitFor('a slot free again', async () => {
      const again = await SmtpSession.connect(relay!.port);
      const greeting = await again.reply();
      again.close();
      return greeting.startsWith('220 ');
    });
    for (const s of [...open, elsewhere]) s.close();
  });
});

describe('recipients held in open transactions', () => {
  async function listenerWith(flags: Record<string, string>) {
    const resolved = resolveConfig({
      flags: { smtp: '127.0.0.1:0', spool: tempDir(), hostname: 'relay.test', ...flags },
    });
    if (!resolved.ok) throw new Error(resolved.message);
    const spool = Spool.open(resolved.config.spool);
    const listener = new SmtpListener(resolved.config, spool, new EventLog({ logLevel: 'silent' }));
    const { port } = await listener.listen();
    cleanups.push(async () => {
      await listener.close(0);
      await spool.close();
    });
    return { listener, port };
  }

  it('answers 452 4.3.1 past --max-held-recipients and counts them back as transactions end', async () => {
    const { listener, port } = await listenerWith({ maxHeldRecipients: '5', profile: 'rfc' });
    const a = await SmtpSession.ready(port);
    const b = await SmtpSession.ready(port);
    await a.cmd('MAIL FROM:<s@example.test>');
    for (const r of ['1', '2', '3']) expect(await a.cmd(`RCPT TO:<a${r}@example.test>`)).toMatch(/^250 /);
    await b.cmd('MAIL FROM:<s@example.test>');
    expect(await b.cmd('RCPT TO:<b1@example.test>')).toMatch(/^250 /);
    expect(await b.cmd('RCPT TO:<b2@example.test>')).toMatch(/^250 /);
    expect(await b.cmd('RCPT TO:<b3@example.test>')).toMatch(/^452 4\.3\.1 .*try again later/);
    expect(listener.limits.heldRecipients).toBe(5);
    a.close(); // its three come back
    await waitFor('A released', () => listener.limits.heldRecipients === 2);
    expect(await b.cmd('RCPT TO:<b3@example.test>')).toMatch(/^250 /);
    await b.cmd('DATA');
    expect(await b.cmd('Subject: held\r\n\r\nbody\r\n.')).toMatch(/^250 /);
    expect(listener.limits.heldRecipients).toBe(0); // the transaction ended
    await b.cmd('MAIL FROM:<s@example.test>');
    await b.cmd('RCPT TO:<c@example.test>');
    expect(await b.cmd('RSET')).toMatch(/^250 /);
    await b.cmd('MAIL FROM:<s@example.test>'); // a new transaction counts from zero
    expect(listener.limits.heldRecipients).toBe(0);
    b.close();
  });

  it('returns the count of 2 x 32,766 recipients when their connections close (defaults)', async () => {
    const { listener, port } = await listenerWith({});
    const sessions = await Promise.all([1, 2].map(() => SmtpSession.ready(port)));
    await Promise.all(
      sessions.map(async (s, k) => {
        await s.cmd('MAIL FROM:<s@example.test>');
        const lines = Array.from({ length: 32_766 }, (_, i) => `RCPT TO:<r${k}-${i}@example.test>\r\n`);
        s.write(lines.join(''));
        for (let i = 0; i < 32_766; i++) await s.reply();
      }),
    );
    expect(listener.limits.heldRecipients).toBe(65_532);
    for (const s of sessions) s.close();
    await waitFor('every recipient released', () => listener.limits.heldRecipients === 0);
  });
});

describe('addresses', () => {
  it('accepts a quoted local part with a space: RCPT TO:<"a b"@x.test>', async () => {
    relay = await startTestRelay();
    const s = await SmtpSession.ready(relay.port);
    await s.cmd('MAIL FROM:<"john q"@example.test>');
    expect(await s.cmd('RCPT TO:<"a b"@x.test>')).toBe('250 OK - Recipient <"a b"@x.test>');
    expect(await s.cmd('RCPT TO:<"a\\"b"@x.test> NOTIFY=NEVER')).toMatch(/^250 /);
    await s.cmd('DATA');
    expect(await s.cmd('Subject: quoted\r\n\r\nbody\r\n.')).toMatch(/^250 /);
    s.close();
    const [entry] = relay.entries();
    expect(entry!.envelope.sender).toBe('"john q"@example.test');
    expect(entry!.envelope.recipients.map((r) => r.address)).toEqual(['"a b"@x.test', '"a\\"b"@x.test']);
  });
});
