import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeEntry } from '../src/spool/entry-format.js';
import { SmtpSession } from './helpers/smtp-session.js';
import { startTestRelay, tempDir, type TestRelay } from './helpers/test-relay.js';
import { waitFor } from './helpers/wait-for.js';

const HAPROXY = ['/usr/sbin/haproxy', '/usr/local/sbin/haproxy'].find((p) => fs.existsSync(p));

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** One command on HAProxy's stats socket, e.g. `show stat`. */
async function haproxyCommand(socketPath: string, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(socketPath);
    let out = '';
    s.setEncoding('utf8');
    s.on('data', (d: string) => (out += d));
    s.on('end', () => resolve(out));
    s.on('error', reject);
    s.end(command + '\n');
  });
}

/** A relay in relay mode whose upstream refuses connections: every accepted message stays in its in/. */
function startBehindBalancer(name: string, spool: string): Promise<TestRelay> {
  return startTestRelay({
    spool,
    hostname: `${name}.relay.test`,
    mode: 'relay',
    upstream: 'smtp://127.0.0.1:1',
    retryInitial: '1h',
    localDomains: 'example.test',
    // the balancer itself may relay: the proxied client must not inherit that
    relayNetworks: '127.0.0.1/32',
    proxyProtocolFrom: '127.0.0.1/32',
  });
}

/** The entries in a spool's in/ (journals aside: these relays have tried their upstream). */
function entriesOf(relay: TestRelay) {
  const folder = relay.spool.folder('in');
  return fs
    .readdirSync(folder)
    .filter((n) => n.endsWith('.imsr'))
    .sort()
    .map((n) => {
      const decoded = decodeEntry(fs.readFileSync(path.join(folder, n)));
      if (!decoded.ok) throw new Error(`${n}: ${decoded.reason}`);
      return { envelope: decoded.envelope, message: decoded.message.toString('latin1') };
    });
}

async function send(port: number, from: string, subject: string): Promise<string> {
  const s = await SmtpSession.connectFrom(port, from);
  const greeting = await s.reply();
  expect(greeting).toMatch(/^220 /);
  await s.cmd('EHLO client.test');
  const reply = await s.submit(
    '<sender@example.test>',
    ['<user@example.test>'],
    `From: sender@example.test\r\nSubject: ${subject}\r\n\r\nbody`,
  );
  await s.cmd('QUIT');
  s.close();
  return reply;
}

describe.skipIf(!HAPROXY)('behind HAProxy with the PROXY protocol', () => {
  const work = tempDir('ims-haproxy-');
  const spools = { a: path.join(work, 'a'), b: path.join(work, 'b') };
  let a: TestRelay;
  let b: TestRelay;
  let haproxy: ChildProcess;
  let front: number;
  const stats = path.join(work, 'haproxy.sock');

  beforeAll(async () => {
    a = await startBehindBalancer('a', spools.a);
    b = await startBehindBalancer('b', spools.b);
    front = await freePort();
    // a: PROXY v1, b: PROXY v2; the health checks send the header too
    const config = [
      'global',
      `  stats socket ${stats} level admin`,
      'defaults',
      '  mode tcp',
      '  timeout connect 2s',
      '  timeout client 60s',
      '  timeout server 60s',
      'frontend smtp',
      `  bind 127.0.0.1:${front}`,
      '  default_backend relays',
      'backend relays',
      '  balance roundrobin',
      `  server a 127.0.0.1:${a.port} send-proxy check check-send-proxy inter 200ms fall 2 rise 1`,
      `  server b 127.0.0.1:${b.port} send-proxy-v2 check check-send-proxy inter 200ms fall 2 rise 1`,
      '',
    ].join('\n');
    fs.writeFileSync(path.join(work, 'haproxy.cfg'), config);
    haproxy = spawn(HAPROXY!, ['-db', '-f', path.join(work, 'haproxy.cfg')], { stdio: 'ignore' });
    await waitFor('HAProxy to see both relays up', async () => {
      const csv = await haproxyCommand(stats, 'show stat');
      return /^relays,a,.*,UP,/m.test(csv) && /^relays,b,.*,UP,/m.test(csv);
    });
  }, 60_000);

  afterAll(async () => {
    haproxy?.kill('SIGTERM');
    await Promise.all([a?.stop(), b?.stop()]);
  });

  it('spreads clients over both relays, which see the real client address; a stopped relay is marked down and nothing is lost', async () => {
    const subjects: string[] = [];
    for (let i = 0; i < 10; i++) {
      subjects.push(`through the balancer ${i}`);
      expect(await send(front, '127.0.0.2', subjects[i]!)).toMatch(/^250 /);
    }
    const inSpool = (relay: TestRelay) =>
      entriesOf(relay).map((e) => ({ subject: /Subject: (.*)\r\n/.exec(e.message)?.[1], entry: e }));
    const onA = inSpool(a);
    const onB = inSpool(b);
    // each message in exactly one of the two spools, and both got a share
    expect([...onA, ...onB].map((m) => m.subject).sort()).toEqual([...subjects].sort());
    expect(onA.length).toBeGreaterThan(0);
    expect(onB.length).toBeGreaterThan(0);
    for (const [relay, name] of [
      [a, 'a'],
      [b, 'b'],
    ] as const) {
      for (const { entry } of inSpool(relay)) {
        expect(entry.envelope.client?.address).toBe('127.0.0.2');
        expect(entry.message).toMatch(
          new RegExp(
            `^Received: from client\\.test \\(\\[127\\.0\\.0\\.2\\]\\)\\r\\n\\tby ${name}\\.relay\\.test`,
          ),
        );
      }
      const queued = relay.eventsSeen().filter((e) => e.id === 1100);
      expect(queued.length).toBe(inSpool(relay).length);
      for (const e of queued) expect(e.data?.client).toBe('127.0.0.2');
    }

    // the balancer may relay (127.0.0.1 is in the relay networks); the client behind it may not
    const s = await SmtpSession.connectFrom(front, '127.0.0.2');
    await s.reply();
    await s.cmd('EHLO client.test');
    await s.cmd('MAIL FROM:<sender@example.test>');
    expect(await s.cmd('RCPT TO:<someone@elsewhere.test>')).toMatch(/^554 Relay access denied/);
    expect(await s.cmd('RCPT TO:<user@example.test>')).toMatch(/^250 /);
    s.close();

    // relay a stops: HAProxy's checks mark it down, new connections all go to b, nothing is lost
    const aSpoolBefore = fs.readdirSync(path.join(spools.a, 'in')).filter((n) => n.endsWith('.imsr')).length;
    await a.stop();
    await waitFor('HAProxy to mark a down', async () =>
      /^relays,a,.*,DOWN,/m.test(await haproxyCommand(stats, 'show stat')),
    );
    const bBefore = inSpool(b).length;
    const later: string[] = [];
    for (let i = 0; i < 6; i++) {
      later.push(`after a stopped ${i}`);
      expect(await send(front, '127.0.0.2', later[i]!)).toMatch(/^250 /);
    }
    expect(inSpool(b).length).toBe(bBefore + later.length);
    expect(inSpool(b).map((m) => m.subject)).toEqual(expect.arrayContaining(later));
    const aAfter = fs.readdirSync(path.join(spools.a, 'in')).filter((n) => n.endsWith('.imsr')).length;
    expect(aAfter).toBe(aSpoolBefore);
    expect(aAfter + inSpool(b).length).toBe(subjects.length + later.length);
  }, 60_000);

  it('gates the balancer: no greeting before the header, 421 for a missing or malformed one; a PROXY line from anyone else is refused', async () => {
    // straight from the balancer's address, without a header: nothing is said until the client
    // sends something that is not a header, then 421 and close
    const direct = await SmtpSession.connectFrom(b.port, '127.0.0.1');
    await expect(direct.reply(300)).rejects.toThrow();
    expect(direct.transcript.join('')).not.toMatch(/220/);
    expect(await direct.cmd('EHLO client.test')).toMatch(/^421 4\.7\.0 b\.relay\.test /);
    await waitFor('the connection to close', () => direct.closed);

    // silence: 421 after the header timeout
    const silent = await SmtpSession.connectFrom(b.port, '127.0.0.1');
    expect(await silent.reply(10_000)).toMatch(/^421 4\.7\.0 .*no PROXY protocol header within 5 s/);
    await waitFor('the connection to close', () => silent.closed);

    // from an address that is not a balancer: greeted at once; a PROXY line is not believed
    const other = await SmtpSession.connectFrom(b.port, '127.0.0.3');
    expect(await other.reply()).toMatch(/^220 /);
    expect(await other.cmd('PROXY TCP4 192.0.2.99 127.0.0.1 4000 25')).toMatch(/^5\d\d /);
    await other.cmd('EHLO client.test');
    expect(
      await other.submit('<sender@example.test>', ['<user@example.test>'], 'Subject: spoof?\r\n\r\nbody'),
    ).toMatch(/^250 /);
    other.close();
    const spoof = entriesOf(b).find((e) => e.message.includes('Subject: spoof?'))!;
    expect(spoof.envelope.client?.address).toBe('127.0.0.3');
    expect(spoof.message).toMatch(/^Received: from client\.test \(\[127\.0\.0\.3\]\)/);
  }, 30_000);
});
