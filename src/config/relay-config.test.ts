import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveConfig } from './relay-config.js';

function tmpFile(name: string, text: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ims-config-'));
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

describe('resolveConfig', () => {
  it('embeds the IMS defaults', () => {
    const r = resolveConfig({ cwd: '/srv' });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.config.smtp).toEqual({ host: '127.0.0.1', port: 2525 });
    expect(r.config.maxRecipients).toBe(32766);
    expect(r.config.maxHeaderBytes).toBe(0); // off: only the message size limits it (Q193639)
    expect(r.config.maxMessageSize).toBe(25 * 1024 * 1024);
    expect(r.config.minFreeDisk).toBe(Math.ceil(1.5 * 25 * 1024 * 1024));
    expect(r.config.spool).toBe('/srv/spool');
    expect(r.config.events).toBe('/srv/spool/log/events.jsonl');
    expect(r.config.profile).toBe('ims');
    expect(r.config.greetingDelayMs).toBe(0);
    expect(r.config.maxRecipientOvershoot).toBe(0); // off: every RCPT past the cap gets 452 (Q272672)
  });

  it('takes the opt-in overshoot as a number, and off or 0 as off', () => {
    const value = (v: string) => {
      const r = resolveConfig({ flags: { maxRecipientOvershoot: v } });
      return r.ok ? r.config.maxRecipientOvershoot : r.message;
    };
    expect(value('1000')).toBe(1000);
    expect(value('off')).toBe(0);
    expect(value('0')).toBe(0);
    expect(value('-1')).toMatch(/expected a whole number from 1, or off/);
  });

  it('layers file < environment < flags', () => {
    const file = tmpFile('relay.yaml', 'maxRecipients: 10\nprofile: rfc\nhostname: from-file\n');
    const r = resolveConfig({
      configFile: file,
      env: { IMS_RELAY_MAX_RECIPIENTS: '20', IMS_RELAY_HOSTNAME: 'from-env', PATH: '/bin' },
      flags: { maxRecipients: '30' },
    });
    expect(r.ok && r.config.maxRecipients).toBe(30);
    expect(r.ok && r.config.hostname).toBe('from-env');
    expect(r.ok && r.config.profile).toBe('rfc');
  });

  it('reads JSON config files and derives min free disk from the size limit', () => {
    const file = tmpFile('relay.json', JSON.stringify({ maxMessageSize: '1MB', smtp: '[::1]:0' }));
    const r = resolveConfig({ configFile: file });
    expect(r.ok && r.config.minFreeDisk).toBe(1.5 * 1024 * 1024);
    expect(r.ok && r.config.smtp).toEqual({ host: '::1', port: 0 });
  });

  it('names the setting, its flag, its variable and the source of a bad value', () => {
    const r = resolveConfig({ env: { IMS_RELAY_MAX_RECIPIENTS: 'lots' } });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.message).toContain('maxRecipients');
    expect(r.message).toContain('--max-recipients');
    expect(r.message).toContain('IMS_RELAY_MAX_RECIPIENTS');
    expect(r.message).toContain('"lots"');
  });

  it.each([
    [{ smtp: 'localhost' }, 'HOST:PORT'],
    [{ smtp: '127.0.0.1:70000' }, 'out of range'],
    [{ profile: 'exchange' }, 'profile'],
    [{ maxMessageSize: 'big' }, 'unit'],
    [{ maxRecipients: '0' }, 'from 1'],
  ])('refuses %o', (flags, text) => {
    const r = resolveConfig({ flags });
    expect(r.ok).toBe(false);
    expect(!r.ok && r.message).toContain(text);
  });

  it('refuses unknown keys and unreadable files in config files', () => {
    const r1 = resolveConfig({ configFile: tmpFile('c.yaml', 'maxRecipient: 5\n') });
    expect(!r1.ok && r1.message).toContain('unknown setting maxRecipient');
    const r2 = resolveConfig({ configFile: '/nonexistent/relay.yaml' });
    expect(!r2.ok && r2.message).toContain('cannot read config file');
    const r3 = resolveConfig({ configFile: tmpFile('c.json', '{ nope') });
    expect(!r3.ok && r3.message).toContain('not valid JSON');
  });
});

describe('delivery settings', () => {
  it('defaults to capture mode with the IMS delivery concurrency and the NDR cap', () => {
    const r = resolveConfig();
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.config).toMatchObject({
      mode: 'capture',
      upstream: undefined,
      deliveryConcurrency: 32,
      retryInitial: 5 * 60_000,
      retryMax: 67 * 60_000,
      lifetime: 5 * 86_400_000,
      ndrMaxRecipients: 32766,
      ndrOverflow: 'truncate',
      ndrMaxOriginalBytes: 50 * 1024,
      fail: [],
    });
  });

  it('parses failure rules from flags, the environment (one per line) and config lists', () => {
    const fromFlags = resolveConfig({
      flags: { fail: ['*@a.test=550 5.1.1 User unknown', 'b@*=451 later'] },
    });
    expect(fromFlags.ok && fromFlags.config.fail.map((r) => r.code)).toEqual([550, 451]);
    const fromEnv = resolveConfig({ env: { IMS_RELAY_FAIL: '*@a.test=550 no\n*@b.test=552 full' } });
    expect(fromEnv.ok && fromEnv.config.fail.map((r) => r.pattern)).toEqual(['*@a.test', '*@b.test']);
    const bad = resolveConfig({ flags: { fail: ['*@a.test=250 fine'] } });
    expect(!bad.ok && bad.message).toContain('invalid setting fail');
  });

  it('needs an upstream in relay mode and checks its URL', () => {
    const none = resolveConfig({ flags: { mode: 'relay' } });
    expect(!none.ok && none.message).toContain('relay mode needs an upstream');
    const bad = resolveConfig({ flags: { mode: 'relay', upstream: 'http://x' } });
    expect(!bad.ok && bad.message).toContain('smtp://');
    const good = resolveConfig({ flags: { mode: 'relay', upstream: 'smtp://user:pw@127.0.0.1:2526' } });
    expect(good.ok && good.config.upstream).toBe('smtp://user:pw@127.0.0.1:2526');
  });
});

describe('newcomer polish (issue 14)', () => {
  it('item 1: refuses a duration without a unit, from a flag, the environment or the config file', () => {
    const flag = resolveConfig({ flags: { retryInitial: '5' } });
    expect(!flag.ok && flag.message).toBe(
      'invalid setting retryInitial (--retry-initial, IMS_RELAY_RETRY_INITIAL): a duration needs a unit: write e.g. 5s or 5m (units ms, s, m, h, d), not a bare number; got "5" from flag --retry-initial',
    );
    const env = resolveConfig({ env: { IMS_RELAY_LIFETIME: '300' } });
    expect(!env.ok && env.message).toMatch(/^invalid setting lifetime \(--lifetime.*5s or 5m.*environment/);
    const file = resolveConfig({ configFile: tmpFile('relay.yaml', 'retryMax: 5\n') });
    expect(!file.ok && file.message).toMatch(
      /^invalid setting retryMax \(--retry-max.*5s or 5m.*got 5 from config file/,
    );
    const json = resolveConfig({ configFile: tmpFile('relay.json', '{"pickupInterval": 100}') });
    expect(!json.ok && json.message).toContain('invalid setting pickupInterval');
    const unit = resolveConfig({ flags: { retryInitial: '5s', pickupInterval: '250ms' } });
    expect(unit.ok && [unit.config.retryInitial, unit.config.pickupInterval]).toEqual([5000, 250]);
  });

  it('item 10: a TLS certificate or key that cannot be read is an invalid setting that names its flag', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ims-config-'));
    const key = path.join(dir, 'key.pem');
    fs.writeFileSync(key, 'not checked here');
    const cert = resolveConfig({ flags: { tlsCert: path.join(dir, 'missing.pem'), tlsKey: key } });
    expect(!cert.ok && cert.message).toBe(
      `invalid setting tlsCert (--tls-cert, IMS_RELAY_TLS_CERT): cannot read "${path.join(dir, 'missing.pem')}": no such file (ENOENT)`,
    );
    const keyMissing = resolveConfig({ flags: { tlsCert: key, tlsKey: 'nope.pem' }, cwd: dir });
    expect(!keyMissing.ok && keyMissing.message).toMatch(
      /^invalid setting tlsKey \(--tls-key, IMS_RELAY_TLS_KEY\): cannot read "nope.pem"/,
    );
    // the tool commands do not read the TLS files
    expect(resolveConfig({ flags: { tlsCert: 'nope', tlsKey: 'nope' }, serve: false }).ok).toBe(true);
  });

  it('item 14: --smtp localhost says what it got once', () => {
    const r = resolveConfig({ flags: { smtp: 'localhost' } });
    expect(!r.ok && r.message).toBe(
      'invalid setting smtp (--smtp, IMS_RELAY_SMTP): expected HOST:PORT (e.g. 127.0.0.1:2525, [::1]:2525, :2525); got "localhost" from flag --smtp',
    );
    const http = resolveConfig({ flags: { http: 'localhost' } });
    expect(!http.ok && http.message).toMatch(/expected HOST:PORT or off \(e\.g\. .*\); got "localhost"/);
  });

  it('item 14: --profile exchange lists the values the setting takes', () => {
    const r = resolveConfig({ flags: { profile: 'exchange' } });
    expect(!r.ok && r.message).toBe(
      'invalid setting profile (--profile, IMS_RELAY_PROFILE): expected one of: ims, rfc; got "exchange" from flag --profile',
    );
    const mode = resolveConfig({ env: { IMS_RELAY_MODE: 'smarthost' } });
    expect(!mode.ok && mode.message).toContain('expected one of: capture, relay, hold; got "smarthost"');
  });
});
