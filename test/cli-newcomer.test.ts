/**
 * Issue 14 items 8, 10 and 14 on the command line: stdout is JSON lines only, a TLS file that is
 * missing is an invalid setting (exit 2), --help shows each default once, and `health` says
 * "degraded" (exit 1) while /readyz answers 503.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, startRelayProcess } from './helpers/relay-process.js';
import { SmtpSession } from './helpers/smtp-session.js';
import { tempDir } from './helpers/test-relay.js';

describe('serve', () => {
  it('item 8: writes only JSON lines to stdout, the ready line included', async () => {
    const spool = tempDir();
    const relay = await startRelayProcess(['--spool', spool, '--mode', 'hold', '--log-level', 'info']);
    const s = await SmtpSession.ready(relay.port);
    expect(await s.submit('<a@example.test>', ['<b@example.test>'], 'Subject: x\r\n\r\ny')).toMatch(/^250/);
    s.close();
    relay.child.kill('SIGTERM');
    expect(await relay.exited).toBe(0);
    const lines = relay.stdout().trimEnd().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(4);
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>); // throws on a plain-text line
    const ready = parsed.find((l) => l.ready === true)!;
    expect(ready).toMatchObject({ level: 30, smtp: `127.0.0.1:${relay.port}`, spool });
    expect(ready.http).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(parsed.map((l) => l.event).filter(Boolean)).toContain(1001);
  });

  it('item 10: a missing TLS certificate or key exits 2 and names its flag', async () => {
    const spool = tempDir();
    const missing = path.join(spool, 'missing.pem');
    const cert = runCli(['serve', '--spool', spool, '--tls-cert', missing, '--tls-key', missing]);
    expect(await cert.exited).toBe(2);
    expect(cert.stderr()).toBe(
      `ims-relay: invalid setting tlsCert (--tls-cert, IMS_RELAY_TLS_CERT): cannot read "${missing}": no such file (ENOENT)\n`,
    );
    const key = runCli(['serve', '--spool', spool, '--tls-cert', process.execPath, '--tls-key', missing]);
    expect(await key.exited).toBe(2);
    expect(key.stderr()).toContain('invalid setting tlsKey (--tls-key, IMS_RELAY_TLS_KEY): cannot read');
  });

  it('item 14: --help shows the default of --min-free-disk once', async () => {
    const run = runCli(['serve', '--help']);
    expect(await run.exited).toBe(0);
    const help = run.stdout().replace(/\s+/g, ' ');
    const option = /--min-free-disk <BYTES> (.*?) --events/.exec(help)![1]!;
    expect(option.match(/default/g)).toHaveLength(1);
    expect(option).toContain('(default: 1.5 x max-message-size; env IMS_RELAY_MIN_FREE_DISK)');
  });
});

describe('health', () => {
  it('item 14: says degraded and exits 1 while /readyz answers 503 (free space under --min-free-disk)', async () => {
    const spool = tempDir();
    const relay = await startRelayProcess([
      '--spool',
      spool,
      '--mode',
      'hold',
      '--min-free-disk',
      '1000000GB',
    ]);
    try {
      const run = runCli(['health', '--spool', spool]);
      expect(await run.exited).toBe(1);
      expect(run.stdout()).toBe('');
      expect(run.stderr()).toMatch(
        new RegExp(
          `^degraded: SMTP 127\\.0\\.0\\.1:${relay.port} "220 .*", HTTP 127\\.0\\.0\\.1:\\d+ /healthz 200, /readyz 503, but /readyz answered 503: free space on the spool file system is \\d+ bytes, below \\d+\\n$`,
        ),
      );
    } finally {
      relay.child.kill('SIGTERM');
      await relay.exited;
    }
    const healthy = await startRelayProcess(['--spool', spool, '--mode', 'hold']);
    try {
      const run = runCli(['health', '--spool', spool]);
      expect(await run.exited).toBe(0);
      expect(run.stdout()).toMatch(/^ok: SMTP .*\/healthz 200, \/readyz 200\n$/);
    } finally {
      healthy.child.kill('SIGTERM');
      await healthy.exited;
    }
  });
});
