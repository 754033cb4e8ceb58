/**
 * Behind a load balancer with the PROXY protocol (`--proxy-protocol-from`), every client arrives
 * from the balancer's address: the per-address bounds and records must use the proxied client
 * address instead — the per-IP connection limit (`--max-connections-per-ip`), the AUTH failure
 * limit per address (`--auth-max-failures-per-ip`), the session transcripts, events and metrics.
 * The headers are sent by a real socket client from 127.0.0.1 (the balancer), as HAProxy's
 * `send-proxy` does (v1) and `send-proxy-v2` (v2).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { hashPassword } from '../src/server/user-store.js';
import { SmtpSession } from './helpers/smtp-session.js';
import { startTestRelay, tempDir, type TestRelay } from './helpers/test-relay.js';
import { waitFor } from './helpers/wait-for.js';

let relay: TestRelay | undefined;
const open: SmtpSession[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) s.close();
  await relay?.stop();
  relay = undefined;
});

const plain = (user: string, password: string) =>
  `AUTH PLAIN ${Buffer.from(`\0${user}\0${password}`).toString('base64')}`;

/** A PROXY v1 line, as HAProxy's `send-proxy` writes it. */
const v1 = (client: string, port: number) => `PROXY TCP4 ${client} 127.0.0.1 ${port} 25\r\n`;

/** A PROXY v2 header (TCP over IPv4), as HAProxy's `send-proxy-v2` writes it. */
function v2(client: string, port: number): Buffer {
  const signature = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
  const body = Buffer.alloc(12);
  client.split('.').forEach((octet, i) => body.writeUInt8(Number(octet), i));
  [127, 0, 0, 1].forEach((octet, i) => body.writeUInt8(octet, 4 + i));
  body.writeUInt16BE(port, 8);
  body.writeUInt16BE(25, 10);
  const head = Buffer.from([0x21, 0x11, 0x00, 0x0c]); // v2 PROXY, TCP over IPv4, 12 bytes
  return Buffer.concat([signature, head, body]);
}

/** Connects from the balancer's address and sends a header naming `client`. */
async function throughBalancer(port: number, client: string, version: 1 | 2 = 1): Promise<SmtpSession> {
  const s = await SmtpSession.connectFrom(port, '127.0.0.1');
  open.push(s);
  const clientPort = 40_000 + Math.floor(Math.random() * 20_000);
  s.write(version === 1 ? v1(client, clientPort) : v2(client, clientPort));
  return s;
}

function usersFile(): string {
  const file = path.join(tempDir('ims-users-'), 'users');
  fs.writeFileSync(file, `alice:${hashPassword('wonderland')}\n`);
  return file;
}

describe('the proxied client address (PROXY protocol) for per-address bounds and records', () => {
  it('gives each proxied client behind one balancer address its own --max-connections-per-ip', async () => {
    relay = await startTestRelay({ proxyProtocolFrom: '127.0.0.1/32', maxConnectionsPerIp: '2' });
    // two connections from 192.0.2.10 and two from 198.51.100.20 (v2): all greeted, although the
    // balancer's address holds four
    const first = [
      await throughBalancer(relay.port, '192.0.2.10'),
      await throughBalancer(relay.port, '192.0.2.10', 2),
    ];
    const second = [
      await throughBalancer(relay.port, '198.51.100.20', 2),
      await throughBalancer(relay.port, '198.51.100.20'),
    ];
    for (const s of [...first, ...second]) expect(await s.reply()).toMatch(/^220 /);
    // a third from the first client is refused; one from a third client is not
    const third = await throughBalancer(relay.port, '192.0.2.10');
    expect(await third.reply()).toMatch(/^421 .*[Tt]oo many connections/);
    const other = await throughBalancer(relay.port, '203.0.113.30');
    expect(await other.reply()).toMatch(/^220 /);
    const limited = relay.eventsSeen().filter((e) => e.data?.limit === 'connections-per-ip');
    expect(limited.map((e) => e.data?.client)).toEqual(['192.0.2.10']);
    // a closed connection gives its client's slot back
    await first[0]!.cmd('QUIT');
    await waitFor('the first connection closed', () => first[0]!.closed);
    const again = await waitFor('a slot for 192.0.2.10 again', async () => {
      const s = await throughBalancer(relay!.port, '192.0.2.10');
      return (await s.reply()).startsWith('220 ') ? s : undefined;
    });
    expect(again.closed).toBe(false);
  });

  it('counts AUTH failures per proxied client: one guesser does not lock out another client behind the balancer', async () => {
    relay = await startTestRelay({
      proxyProtocolFrom: '127.0.0.1/32',
      users: usersFile(),
      allowInsecureAuth: 'true',
      authMaxFailuresPerIp: '2',
      authFailureDelay: '0ms',
    });
    const guesser = await throughBalancer(relay.port, '192.0.2.66');
    await guesser.reply();
    await guesser.cmd('EHLO guesser.test');
    expect(await guesser.cmd(plain('alice', 'x'))).toMatch(/^535 /);
    expect(await guesser.cmd(plain('alice', 'y'))).toMatch(/^535 /);
    // the guesser's address is locked out, on a new connection too
    const again = await throughBalancer(relay.port, '192.0.2.66', 2);
    await again.reply();
    await again.cmd('EHLO guesser.test');
    expect(await again.cmd(plain('alice', 'wonderland'))).toMatch(/^421 .*from your address/);
    // another client behind the same balancer logs in
    const honest = await throughBalancer(relay.port, '198.51.100.7');
    await honest.reply();
    await honest.cmd('EHLO honest.test');
    expect(await honest.cmd(plain('alice', 'wonderland'))).toMatch(/^235 /);
    const limited = relay.eventsSeen().filter((e) => e.id === 2130);
    expect(limited.map((e) => [e.data?.limit, e.data?.client])).toEqual([['address', '192.0.2.66']]);
  });

  it('names the proxied client in the session transcript, the events and Received:', async () => {
    relay = await startTestRelay({
      proxyProtocolFrom: '127.0.0.1/32',
      localDomains: 'example.test',
    });
    const s = await throughBalancer(relay.port, '192.0.2.44', 2);
    expect(await s.reply()).toMatch(/^220 /);
    await s.cmd('EHLO client.test');
    const reply = await s.submit(
      '<sender@example.test>',
      ['<user@example.test>'],
      'Subject: proxied\r\n\r\nbody',
    );
    expect(reply).toMatch(/^250 /);
    const queueId = reply.split(' ').pop()!;
    await s.cmd('QUIT');
    const t = await waitFor('the ended transcript', () => relay!.transcripts.list().find((x) => x.endedAt));
    expect(t.client.address).toBe('192.0.2.44');
    expect(t.queueIds).toEqual([queueId]);
    const queued = relay.eventsSeen().find((e) => e.id === 1100 && e.queueId === queueId);
    expect(queued?.data?.client).toBe('192.0.2.44');
    const [entry] = relay.entries();
    expect(entry!.envelope.client?.address).toBe('192.0.2.44');
    expect(entry!.message).toMatch(/^Received: from client\.test \(\[192\.0\.2\.44\]\)/);
  });

  it('matches SMTP-stage rules and greylisting against the proxied client, and names it in their events', async () => {
    relay = await startTestRelay({
      proxyProtocolFrom: '127.0.0.1/32',
      localDomains: 'example.test',
      smtpRule: ['connect:192.0.2.99=554 5.7.1 Not from you', 'rcpt:first-try=451 4.7.1 Greylisted'],
    });
    const refused = await throughBalancer(relay.port, '192.0.2.99');
    expect(await refused.reply()).toMatch(/^554 5\.7\.1 Not from you/);
    // greylisting keys on (client IP, sender, recipient): a retry from the same proxied client
    // passes, the same sender and recipient from another proxied client is a first try again
    const tryOnce = async (client: string) => {
      const s = await throughBalancer(relay!.port, client);
      expect(await s.reply()).toMatch(/^220 /);
      await s.cmd('EHLO client.test');
      await s.cmd('MAIL FROM:<sender@example.test>');
      const answer = await s.cmd('RCPT TO:<user@example.test>');
      s.close();
      return answer.slice(0, 3);
    };
    expect(await tryOnce('198.51.100.1')).toBe('451');
    expect(await tryOnce('198.51.100.1')).toBe('250');
    expect(await tryOnce('198.51.100.2')).toBe('451');
    const applied = relay.eventsSeen().filter((e) => e.data?.rule !== undefined);
    expect(applied.map((e) => [e.data?.stage, e.data?.client])).toEqual([
      ['connect', '192.0.2.99'],
      ['rcpt', '198.51.100.1'],
      ['rcpt', '198.51.100.2'],
    ]);
  });
});

const HAPROXY = ['/usr/sbin/haproxy', '/usr/local/sbin/haproxy'].find((p) => fs.existsSync(p));

describe.skipIf(!HAPROXY)('behind the real HAProxy (send-proxy-v2)', () => {
  let haproxy: ChildProcess | undefined;
  afterEach(() => {
    haproxy?.kill('SIGTERM');
    haproxy = undefined;
  });

  it('two clients behind it each get their own per-IP connection limit, and transcripts name them', async () => {
    relay = await startTestRelay({ proxyProtocolFrom: '127.0.0.1/32', maxConnectionsPerIp: '1' });
    const probe = net.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const front = (probe.address() as net.AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    const work = tempDir('ims-haproxy-limit-');
    fs.writeFileSync(
      path.join(work, 'haproxy.cfg'),
      [
        'defaults',
        '  mode tcp',
        '  timeout connect 2s',
        '  timeout client 30s',
        '  timeout server 30s',
        'frontend smtp',
        `  bind 127.0.0.1:${front}`,
        '  default_backend relay',
        'backend relay',
        `  server r 127.0.0.1:${relay.port} send-proxy-v2`,
        '',
      ].join('\n'),
    );
    haproxy = spawn(HAPROXY!, ['-db', '-f', path.join(work, 'haproxy.cfg')], { stdio: 'ignore' });
    const connect = (from: string) =>
      waitFor(`HAProxy to accept from ${from}`, async () => {
        const s = await SmtpSession.connectFrom(front, from).catch(() => undefined);
        if (s) open.push(s);
        return s;
      });
    const a = await connect('127.0.0.2');
    expect(await a.reply()).toMatch(/^220 /);
    const b = await connect('127.0.0.3');
    expect(await b.reply()).toMatch(/^220 /); // the balancer's address (127.0.0.1) holds two already
    const a2 = await connect('127.0.0.2');
    expect(await a2.reply()).toMatch(/^421 .*Too many connections from your address/);
    await a.cmd('QUIT');
    await b.cmd('QUIT');
    const ended = await waitFor('two ended transcripts', () => {
      const list = relay!.transcripts
        .list()
        .filter((t) => t.endedAt && t.steps[0]?.replies[0]?.startsWith('220'));
      return list.length === 2 ? list : undefined;
    });
    expect(ended.map((t) => t.client.address).sort()).toEqual(['127.0.0.2', '127.0.0.3']);
    const limited = relay.eventsSeen().filter((e) => e.data?.limit === 'connections-per-ip');
    expect(limited.map((e) => e.data?.client)).toEqual(['127.0.0.2']);
  });
});
