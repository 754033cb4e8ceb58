import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import nodemailer from 'nodemailer';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../src/server/user-store.js';
import { ScriptedUpstream } from './helpers/scripted-upstream.js';
import { SmtpSession } from './helpers/smtp-session.js';
import { startTestRelay, tempDir, type TestRelay } from './helpers/test-relay.js';
import { waitFor } from './helpers/wait-for.js';

let relay: TestRelay | undefined;
let upstream: ScriptedUpstream | undefined;
afterEach(async () => {
  await relay?.stop();
  await upstream?.stop();
  relay = undefined;
  upstream = undefined;
});

let cert: string;
let key: string;
let users: string;
beforeAll(() => {
  const dir = tempDir('ims-tls-');
  cert = path.join(dir, 'cert.pem');
  key = path.join(dir, 'key.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '2',
      '-subj',
      '/CN=relay.test',
    ],
    { stdio: 'ignore' },
  );
  users = path.join(dir, 'users');
  fs.writeFileSync(users, `alice:${hashPassword('wonderland')}\n`);
});

/** An SMTP session from a given loopback source address (127.0.0.0/8 is all ours). */
const from = (localAddress: string, port: number) => SmtpSession.connectFrom(port, localAddress);

describe('no open relay', () => {
  it('refuses non-local domains from outside --relay-networks with 554 5.7.1, allows them from inside', async () => {
    upstream = new ScriptedUpstream();
    const port = await upstream.start();
    relay = await startTestRelay({
      mode: 'relay',
      upstream: `smtp://127.0.0.1:${port}`,
      profile: 'rfc',
      localDomains: 'local.test',
      relayNetworks: '127.0.0.1/32',
    });
    const outsider = await from('127.0.0.2', relay.port);
    await outsider.reply();
    await outsider.cmd('EHLO outsider.test');
    await outsider.cmd('MAIL FROM:<a@outsider.test>');
    expect(await outsider.cmd('RCPT TO:<victim@elsewhere.test>')).toBe('554 5.7.1 Relay access denied');
    expect(await outsider.cmd('RCPT TO:<user@local.test>')).toBe(
      '250 2.1.5 OK - Recipient <user@local.test>',
    );
    outsider.close();

    const insider = await from('127.0.0.1', relay.port);
    await insider.reply();
    await insider.cmd('EHLO insider.test');
    await insider.cmd('MAIL FROM:<a@insider.test>');
    expect(await insider.cmd('RCPT TO:<friend@elsewhere.test>')).toBe(
      '250 2.1.5 OK - Recipient <friend@elsewhere.test>',
    );
    insider.close();
  });

  it('lets an authenticated client relay from anywhere (STARTTLS, then AUTH)', async () => {
    upstream = new ScriptedUpstream();
    const port = await upstream.start();
    relay = await startTestRelay({
      mode: 'relay',
      upstream: `smtp://127.0.0.1:${port}`,
      relayNetworks: '127.0.0.1/32',
      tlsCert: cert,
      tlsKey: key,
      users,
    });
    const transport = nodemailer.createTransport({
      host: '127.0.0.1',
      port: relay.port,
      requireTLS: true,
      tls: { rejectUnauthorized: false },
      auth: { user: 'alice', pass: 'wonderland' },
      localAddress: '127.0.0.3',
    });
    const info = await transport.sendMail({
      from: 'alice@outside.test',
      to: 'bob@elsewhere.test',
      subject: 'authenticated',
      text: 'x',
    });
    transport.close();
    expect(info.accepted).toEqual(['bob@elsewhere.test']);
    await waitFor('the upstream delivery', () => upstream!.received.length === 1);
    expect(upstream.received[0]!.data).toMatch(/with ESMTPSA id /);
  });
});

describe('TLS and AUTH', () => {
  it('offers STARTTLS, and AUTH only after TLS; refuses a wrong password with 535', async () => {
    relay = await startTestRelay({ tlsCert: cert, tlsKey: key, users });
    const s = await SmtpSession.connect(relay.port);
    await s.reply();
    const ehlo = await s.cmd('EHLO client.test');
    expect(ehlo).toContain('250-STARTTLS');
    expect(ehlo).not.toContain('AUTH');
    expect(await s.cmd(`AUTH PLAIN ${Buffer.from('\0alice\0wonderland').toString('base64')}`)).toBe(
      '530 Must issue a STARTTLS command first',
    );
    s.close();

    const wrong = nodemailer.createTransport({
      host: '127.0.0.1',
      port: relay.port,
      requireTLS: true,
      tls: { rejectUnauthorized: false },
      auth: { user: 'alice', pass: 'looking-glass' },
    });
    await expect(wrong.sendMail({ from: 'a@b.test', to: 'c@d.test', text: 'x' })).rejects.toMatchObject({
      responseCode: 535,
    });
    wrong.close();
  });

  it('serves implicit TLS on --smtps', async () => {
    relay = await startTestRelay({ tlsCert: cert, tlsKey: key, smtps: '127.0.0.1:0' });
    const transport = nodemailer.createTransport({
      host: '127.0.0.1',
      port: relay.smtps!.port,
      secure: true,
      tls: { rejectUnauthorized: false },
    });
    const info = await transport.sendMail({
      from: 'a@example.test',
      to: 'b@example.test',
      subject: 'smtps',
      text: 'x',
    });
    transport.close();
    expect(info.response).toMatch(/^250 OK: queued as/);
    expect(relay.entries()[0]!.message).toMatch(/with ESMTPS id /);
  });

  it('offers AUTH without TLS only with --allow-insecure-auth', async () => {
    relay = await startTestRelay({ users, allowInsecureAuth: 'true' });
    const s = await SmtpSession.connect(relay.port);
    await s.reply();
    expect(await s.cmd('EHLO client.test')).toContain('250-AUTH PLAIN LOGIN');
    expect(await s.cmd(`AUTH PLAIN ${Buffer.from('\0alice\0wonderland').toString('base64')}`)).toMatch(
      /^235 /,
    );
    s.close();
  });
});
