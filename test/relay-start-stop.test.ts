import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { resolveConfig, type RawSettings } from '../src/config/relay-config.js';
import { runRelay } from '../src/relay.js';
import { tempDir } from './helpers/test-relay.js';

// One way up, one way down (relay.ts): the parts start in order; a part that cannot start stops
// the ones before it in reverse order, the way stop() does, so the spool is free again at once.

const quiet = () => new Writable({ write: (_c, _e, cb) => cb() });
const busy: net.Server[] = [];

afterEach(async () => {
  await Promise.all(busy.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

/** A port that something else listens on. */
async function busyPort(): Promise<number> {
  const server = net.createServer();
  busy.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as net.AddressInfo).port;
}

/** A port nobody listens on right now. */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function start(spool: string, flags: RawSettings) {
  const resolved = resolveConfig({
    flags: { smtp: '127.0.0.1:0', spool, logLevel: 'silent', hostname: 'relay.test', http: 'off', ...flags },
  });
  if (!resolved.ok) throw new Error(resolved.message);
  return runRelay(resolved.config, { destination: quiet(), stderr: quiet() });
}

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

/** The IDs of the events in the spool's events file (1000 started, 1001 stopped). */
const eventIds = (spool: string): number[] => {
  const file = path.join(spool, 'log', 'events.jsonl');
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => (JSON.parse(line) as { id: number }).id);
};

describe('starting and stopping the relay', () => {
  it('closes SMTP and frees the spool when the admin API cannot listen', async () => {
    const spool = tempDir();
    const smtpPort = await freePort();
    const httpPort = await busyPort();
    const started = await start(spool, {
      smtp: `127.0.0.1:${smtpPort}`,
      http: `127.0.0.1:${httpPort}`,
      mode: 'capture',
      maildir: path.join(spool, 'maildirs'),
    });
    expect(started.ok).toBe(false);
    if (started.ok) return;
    expect(started.message).toContain(`cannot start the admin API on 127.0.0.1:${httpPort}`);
    expect(await refused(smtpPort)).toBe(true);
    expect(fs.existsSync(path.join(spool, 'ims-relay.pid'))).toBe(false);
    expect(fs.existsSync(path.join(spool, 'ims-relay.json'))).toBe(false);
    // a failed start is no service run: neither started nor stopped is announced
    expect(eventIds(spool)).not.toContain(1000);
    expect(eventIds(spool)).not.toContain(1001);

    // the same spool and ports start at once: nothing was left behind
    busy.splice(0).forEach((s) => s.close());
    const again = await start(spool, { smtp: `127.0.0.1:${smtpPort}`, http: `127.0.0.1:${httpPort}` });
    if (!again.ok) throw new Error(again.message);
    await again.relay.stop();
  });

  it('frees the spool when SMTP cannot listen, and when the TLS files cannot be read', async () => {
    const spool = tempDir();
    const port = await busyPort();
    const noSmtp = await start(spool, { smtp: `127.0.0.1:${port}` });
    expect(noSmtp).toMatchObject({ ok: false, message: expect.stringContaining('cannot listen on') });
    expect(fs.existsSync(path.join(spool, 'ims-relay.pid'))).toBe(false);

    // readable for the settings check, not as a file at start (a folder)
    fs.mkdirSync(path.join(spool, 'cert.pem'));
    fs.mkdirSync(path.join(spool, 'key.pem'));
    const noTls = await start(spool, {
      tlsCert: path.join(spool, 'cert.pem'),
      tlsKey: path.join(spool, 'key.pem'),
    });
    expect(noTls).toMatchObject({
      ok: false,
      message: expect.stringContaining('cannot read the TLS certificate or key'),
    });
    expect(fs.existsSync(path.join(spool, 'ims-relay.pid'))).toBe(false);
  });

  it('stops in reverse order: SMTP closed, runtime info and lock gone, serviceStopped the last event', async () => {
    const spool = tempDir();
    const started = await start(spool, { http: '127.0.0.1:0' });
    if (!started.ok) throw new Error(started.message);
    const { relay } = started;
    expect(fs.existsSync(path.join(spool, 'ims-relay.json'))).toBe(true);
    expect(fs.existsSync(path.join(spool, 'ims-relay.pid'))).toBe(true);
    const stopping = relay.stop();
    expect(relay.stop()).toBe(stopping);
    await stopping;
    expect(await refused(relay.smtp.port)).toBe(true);
    expect(await refused(relay.http!.port)).toBe(true);
    expect(fs.existsSync(path.join(spool, 'ims-relay.json'))).toBe(false);
    expect(fs.existsSync(path.join(spool, 'ims-relay.pid'))).toBe(false);
    const ids = eventIds(spool);
    expect(ids[0]).toBe(1000);
    expect(ids.at(-1)).toBe(1001);
  });
});
