/**
 * No relay through sender-routed addresses (user%remote@local, remote!user@local, "user@remote"@local):
 * nmap's smtp-open-relay script from an untrusted loopback address, and end to end through a real
 * Postfix that is the final destination for local.test with its default percent hack.
 */
import { execFile } from 'node:child_process';
import { capturedFiles, capturedMailboxes } from './helpers/captured.js';
import fs from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostfixInstance, havePostfix } from './helpers/postfix-instance.js';
import { SmtpSession } from './helpers/smtp-session.js';
import { startTestRelay, type TestRelay } from './helpers/test-relay.js';
import { waitFor } from './helpers/wait-for.js';

const run = promisify(execFile);
// -S (a chosen source address) needs raw sockets, so root
const haveNmap =
  process.getuid?.() === 0 &&
  (await run('nmap', ['--version']).then(
    () => true,
    () => false,
  ));
if (process.env.CI && !haveNmap)
  throw new Error('nmap is not installed (or not root); .ci/run must install it');
if (process.env.CI && !havePostfix)
  throw new Error('Postfix is not installed (or not root); .ci/run must install it');

/** Runs smtp-open-relay from 127.0.0.2 and returns the script's one-line verdict. */
async function nmapVerdict(port: number): Promise<string> {
  const { stdout } = await run(
    'nmap',
    [
      '-sV',
      '--script',
      'smtp-open-relay',
      '-p',
      String(port),
      '-S',
      '127.0.0.2',
      '-e',
      'lo',
      '-Pn',
      '127.0.0.1',
    ],
    { timeout: 120_000 },
  );
  const line = /smtp-open-relay: (.*)/.exec(stdout);
  if (!line) throw new Error(`no smtp-open-relay verdict in:\n${stdout}`);
  return line[1]!.trim();
}

describe.skipIf(!haveNmap)("nmap's smtp-open-relay", () => {
  const relays: TestRelay[] = [];
  afterAll(async () => {
    await Promise.all(relays.map((r) => r.stop()));
  });

  it('finds no open relay from an untrusted address when the host name is a local domain; finds one when that address is trusted', async () => {
    // the relay's host name is a local domain, so nmap's routed tests (relaytest%nmap.scanme.org@relay.test,
    // nmap.scanme.org!relaytest@relay.test) name a local domain; 127.0.0.2 is not in --relay-networks
    const flags = {
      mode: 'relay',
      upstream: 'smtp://127.0.0.1:9',
      localDomains: 'relay.test',
      hostname: 'relay.test',
      retryInitial: '1h',
    } as const;
    const guarded = await startTestRelay({ ...flags, relayNetworks: '127.0.0.1/32' });
    // control: the same scan from a trusted address shows the script does find an open relay
    const control = await startTestRelay({ ...flags, relayNetworks: '127.0.0.2/32' });
    relays.push(guarded, control);
    const [verdict, controlVerdict] = await Promise.all([
      nmapVerdict(guarded.port),
      nmapVerdict(control.port),
    ]);
    expect(verdict).toBe("Server doesn't seem to be an open relay, all tests failed");
    expect(controlVerdict).toMatch(/^Server is an open relay \(\d+\/16 tests\)/);
  }, 150_000);
});

describe.skipIf(!havePostfix)(
  'routed addresses through a real Postfix (final destination for local.test)',
  () => {
    let sink: TestRelay;
    let postfix: PostfixInstance;
    let relay: TestRelay;

    beforeAll(async () => {
      // the last hop captures whatever Postfix sends on, for local.test and anywhere else
      sink = await startTestRelay({ mode: 'capture', hostname: 'sink.test' });
      postfix = await PostfixInstance.start({
        relayhost: `[127.0.0.1]:${sink.port}`,
        mainCf: [
          'mydestination = local.test',
          `local_transport = smtp:[127.0.0.1]:${sink.port}`,
          'relay_domains =',
          // Postfix's defaults, spelled out: user%host@local.test and host!user@local.test go to host
          'allow_percent_hack = yes',
          'swap_bangpath = yes',
          // a delivery to the sink that fails once under load is tried again within seconds, not minutes
          'minimal_backoff_time = 1s',
          'maximal_backoff_time = 2s',
          'queue_run_delay = 1s',
        ],
      });
      relay = await startTestRelay({
        mode: 'relay',
        upstream: `smtp://127.0.0.1:${postfix.port}`,
        localDomains: 'local.test',
        relayNetworks: '127.0.0.1/32',
        retryInitial: '1s',
      });
    }, 60_000);

    afterAll(async () => {
      await relay?.stop();
      await postfix?.stop();
      await sink?.stop();
    });

    const mailboxes = () =>
      capturedMailboxes(sink.spool.dir)
        .map((m) => m.mailbox)
        .sort();

    it('refuses routed recipients from an untrusted client; only the local recipient arrives', async () => {
      const s = await SmtpSession.connectFrom(relay.port, '127.0.0.2');
      await s.reply();
      await s.cmd('EHLO outsider.test');
      expect(await s.cmd('MAIL FROM:<outsider@example.test>')).toBe('250 Accepted');
      for (const routed of [
        'user%remote.example@local.test',
        'remote.example!user@local.test',
        'user%remote.example%local.test@local.test',
        '@local.test:user@remote.example',
      ])
        expect(await s.cmd(`RCPT TO:<${routed}>`), routed).toBe('554 Relay access denied');
      expect(await s.cmd('RCPT TO:<ok@local.test>')).toBe('250 OK - Recipient <ok@local.test>');
      expect(await s.cmd('DATA')).toMatch(/^354/);
      expect(await s.cmd('Subject: from outside\r\n\r\nhello\r\n.')).toMatch(/^250 OK: queued as/);
      await s.cmd('QUIT');
      s.close();
      const box = () => capturedFiles(sink.spool.dir, 'ok@local.test');
      await waitFor('ok@local.test at the last hop', () => box().length === 1, 120_000).catch(
        (err: Error) => {
          throw new Error(`${err.message}\npostfix log (end): ${postfix.log().slice(-4000)}`);
        },
      );

      // the control: a trusted client's percent-hack address really is sent on by this Postfix
      const t = await SmtpSession.connectFrom(relay.port, '127.0.0.1');
      await t.reply();
      await t.cmd('EHLO insider.test');
      expect(
        await t.submit(
          '<insider@example.test>',
          ['<user%remote.example@local.test>'],
          'Subject: from inside\r\n\r\nhi',
        ),
      ).toMatch(/^250 OK: queued as/);
      t.close();
      const remote = () => capturedFiles(sink.spool.dir, 'user@remote.example');
      const [arrived] = await waitFor(
        'user@remote.example at the last hop',
        () => remote()[0] && remote(),
        120_000,
      );
      expect(fs.readFileSync(arrived!, 'latin1')).toContain('Subject: from inside');

      // the outsider's message reached local.test only
      expect(mailboxes()).toEqual(['ok@local.test', 'user@remote.example']);
      expect(fs.readFileSync(box()[0]!, 'latin1')).toContain('Subject: from outside');
      expect(remote()).toHaveLength(1);
    }, 300_000);
  },
);
