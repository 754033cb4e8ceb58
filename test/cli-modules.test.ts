/**
 * What the command line loads: `queue list --count`, `--version` and `--help` start without the
 * relay's modules (the admin server, SQLite, smtp-server) and, unless something beyond the spool
 * and the admin token is configured, without the checks of every setting (zod, yaml). Asserted on
 * the modules Node really loaded (a loader hook writes down each one), never on time.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { BIN } from './helpers/relay-process.js';
import { tempDir } from './helpers/test-relay.js';
import { encodeEntry } from '../src/spool/entry-format.js';
import type { Envelope } from '../src/message/envelope.js';
import { QueueIdGenerator } from '../src/spool/queue-id.js';
import { Spool } from '../src/spool/spool.js';

/** Modules a spool-only command must not load. */
const RELAY_MODULES = [
  '/node_modules/fastify/',
  '/node_modules/better-sqlite3/',
  '/node_modules/smtp-server/',
  '/node_modules/mailparser/',
  '/dist/relay.js',
  '/dist/admin/',
  '/dist/store/',
  '/dist/delivery/',
];
const SETTING_CHECKS = ['/node_modules/zod/', '/node_modules/yaml/', '/dist/config/relay-config.js'];

/** Runs the CLI with a loader hook that records every module loaded; its output and the modules. */
function runRecorded(args: string[], env: Record<string, string> = {}) {
  const dir = tempDir();
  const log = path.join(dir, 'modules.log');
  fs.writeFileSync(
    path.join(dir, 'hooks.mjs'),
    `import fs from 'node:fs';\n` +
      `export async function load(url, context, next) {\n` +
      `  fs.appendFileSync(${JSON.stringify(log)}, url + '\\n');\n` +
      `  return next(url, context);\n` +
      `}\n`,
  );
  fs.writeFileSync(
    path.join(dir, 'record.mjs'),
    `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(path.join(dir, 'hooks.mjs')).href)});\n`,
  );
  // none of the runner's IMS_RELAY_* variables: the test says which settings are given
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('IMS_RELAY_')));
  const run = spawnSync(
    process.execPath,
    ['--import', pathToFileURL(path.join(dir, 'record.mjs')).href, BIN, ...args],
    {
      env: { ...clean, ...env },
      encoding: 'utf8',
    },
  );
  const modules = fs.existsSync(log) ? fs.readFileSync(log, 'utf8').trim().split('\n') : [];
  return { code: run.status, out: run.stdout, err: run.stderr, modules };
}

const loadedAny = (modules: string[], parts: string[]) =>
  modules.filter((m) => parts.some((p) => m.includes(p)));

function spoolWith(count: number): string {
  const dir = tempDir();
  const spool = Spool.open(dir);
  let i = 0;
  const ids = new QueueIdGenerator(() => 1_700_000_000_000 + i);
  for (i = 0; i < count; i++) {
    const queueId = ids.next();
    const envelope: Envelope = {
      version: 1,
      queueId,
      arrivedAt: new Date(1_700_000_000_000 + i).toISOString(),
      sender: 'sender@example.test',
      recipients: [{ address: 'user@example.test' }],
      dsn: {},
      bodyType: '7bit',
      smtpUtf8: false,
      source: 'smtp',
    };
    fs.writeFileSync(
      spool.entryPath('in', queueId),
      encodeEntry(envelope, Buffer.from('Subject: x\r\n\r\nx\r\n')),
    );
  }
  return dir;
}

describe('what a command loads', () => {
  it('queue list --count reads the folder names without the command-line parser, the relay, the admin server, SQLite or the setting checks', () => {
    const spool = spoolWith(7);
    const run = runRecorded(['queue', 'list', '--count', '--spool', spool]);
    expect(run.err).toBe('');
    expect(run.out).toBe('7\n');
    // the hook sees the modules it did load (so an empty list cannot pass)
    expect(loadedAny(run.modules, ['/dist/spool/folder-names.js', '/dist/cli/main.js'])).toHaveLength(2);
    expect(
      loadedAny(run.modules, [
        ...RELAY_MODULES,
        ...SETTING_CHECKS,
        '/node_modules/commander/',
        '/dist/cli/command-line.js',
        '/dist/spool/spool.js',
        '/dist/spool/queue-listing.js',
      ]),
    ).toEqual([]);
    // the other forms of the plain count: the same answers as the full command line gives
    expect(runRecorded(['queue', 'list', '--json', '--count', '--folder=out', `--spool=${spool}`]).out).toBe(
      '{"folder":"out","count":0}\n',
    );
    expect(fs.existsSync(path.join(spool, 'ims-relay.pid'))).toBe(false); // the lock was let go
  });

  it('queue list --count leaves to the full command line what it does not answer itself, with the same output', () => {
    const spool = spoolWith(4);
    const parsed = (args: string[], env: Record<string, string> = {}) => {
      const run = runRecorded(args, env);
      return { ...run, commander: loadedAny(run.modules, ['/node_modules/commander/']).length > 0 };
    };
    // filters, bad/ (quarantined pickup files), a repeated or unknown option, bad usage
    expect(parsed(['queue', 'list', '--count', '--sender', 'sender@', '--spool', spool])).toMatchObject({
      out: '4\n',
      commander: true,
    });
    expect(parsed(['queue', 'list', '--count', '--folder', 'bad', '--spool', spool])).toMatchObject({
      out: '0\n',
      commander: true,
    });
    expect(parsed(['queue', 'list', '--count', '--count', '--spool', spool])).toMatchObject({
      out: '4\n',
      commander: true,
    });
    const badFolder = parsed(['queue', 'list', '--count', '--folder', 'nowhere', '--spool', spool]);
    expect(badFolder).toMatchObject({ code: 2, commander: true });
    expect(badFolder.err).toContain('unknown folder "nowhere"');
    // a setting other than the spool's in the environment: the whole configuration is checked
    expect(parsed(['queue', 'list', '--count', '--spool', spool], { IMS_RELAY_MODE: 'hold' })).toMatchObject({
      out: '4\n',
      commander: true,
    });
    // the spool locked by a live process that is no relay (this test's runner): the full command says so
    fs.writeFileSync(path.join(spool, 'ims-relay.pid'), `${process.pid}\n`);
    const locked = parsed(['queue', 'list', '--count', '--spool', spool]);
    expect(locked).toMatchObject({ code: 1, out: '', commander: true });
    expect(locked.err).toContain(`is in use by another ims-relay (PID ${process.pid})`);
    fs.rmSync(path.join(spool, 'ims-relay.pid'));
    // a relay running on the spool (its runtime file names a live PID): the count goes to its API,
    // here an address where nothing listens, so the full command line reports that
    fs.writeFileSync(
      path.join(spool, 'ims-relay.json'),
      JSON.stringify({ pid: process.pid, smtp: '127.0.0.1:1', http: '127.0.0.1:1', startedAt: '' }),
    );
    const running = parsed(['queue', 'list', '--count', '--spool', spool]);
    expect(running).toMatchObject({ code: 1, out: '', commander: true });
    expect(running.err).toContain('the relay (PID');
    fs.rmSync(path.join(spool, 'ims-relay.json'));
    // a spool that does not exist yet is created, as the full command line does
    const fresh = path.join(tempDir(), 'new-spool');
    expect(parsed(['queue', 'list', '--count', '--spool', fresh])).toMatchObject({
      out: '0\n',
      commander: false,
    });
    expect(fs.readdirSync(fresh).sort()).toEqual(['archive', 'bad', 'in', 'log', 'out', 'pickup', 'tmp']);
  });

  it('--version and --help load neither the spool nor the setting checks', () => {
    for (const args of [['--version'], ['--help'], ['queue', '--help']]) {
      const run = runRecorded(args);
      expect(run.code).toBe(0);
      expect(run.modules.some((m) => m.includes('/dist/cli/main.js'))).toBe(true);
      expect(loadedAny(run.modules, [...RELAY_MODULES, ...SETTING_CHECKS, '/dist/spool/spool.js'])).toEqual(
        [],
      );
    }
  });

  it('queue list takes IMS_RELAY_SPOOL, a --spool flag before it, and checks every setting when another one is given', () => {
    const fromEnv = spoolWith(3);
    const fromFlag = spoolWith(5);
    expect(runRecorded(['queue', 'list', '--count'], { IMS_RELAY_SPOOL: fromEnv }).out).toBe('3\n');
    expect(
      runRecorded(['queue', 'list', '--count', '--spool', fromFlag], { IMS_RELAY_SPOOL: fromEnv }).out,
    ).toBe('5\n');
    // another setting in the environment: the whole configuration is resolved and checked, as before
    const checked = runRecorded(['queue', 'list', '--count', '--spool', fromFlag], {
      IMS_RELAY_MODE: 'hold',
    });
    expect(checked.out).toBe('5\n');
    expect(loadedAny(checked.modules, ['/node_modules/zod/']).length).toBeGreaterThan(0);
    const bad = runRecorded(['queue', 'list', '--count', '--spool', fromFlag], {
      IMS_RELAY_PROFILE: 'exchange',
    });
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(
      /^ims-relay: invalid setting profile \(--profile, IMS_RELAY_PROFILE\).*"exchange"/,
    );
    // a config file, too
    const config = path.join(tempDir(), 'relay.yaml');
    fs.writeFileSync(config, `spool: ${fromEnv}\nmaxRecipent: 3\n`);
    const unknown = runRecorded(['queue', 'list', '--count', '--config', config]);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain('unknown setting maxRecipent');
    fs.writeFileSync(config, `spool: ${fromEnv}\n`);
    expect(runRecorded(['queue', 'list', '--count', '--config', config]).out).toBe('3\n');
  });
});
