/**
 * The README's first two commands as a newcomer runs them (issue 14 items 12 and 13): `npm start`
 * stops cleanly when the npm process gets SIGTERM or SIGINT (npm → sh → node: the relay must not
 * survive holding its ports), and installing the locked dependencies on this Node prints no
 * EBADENGINE warning.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tempDir } from './helpers/test-relay.js';
import { waitFor } from './helpers/wait-for.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('npm start', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)(
    'stops the relay when npm gets %s',
    async (signal) => {
      const spool = tempDir();
      const npm = spawn(
        'npm',
        ['start', '--', '--smtp', '127.0.0.1:0', '--http', '127.0.0.1:0', '--spool', spool],
        {
          cwd: ROOT,
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let out = '';
      npm.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
      npm.stderr.resume();
      const exited = new Promise<number | string>((resolve) =>
        npm.on('exit', (code, sig) => resolve(code ?? sig ?? 'unknown')),
      );
      let relayPid: number | undefined;
      try {
        await waitFor('the ready line', () => out.includes('"ready":true'), 30_000);
        relayPid = (
          JSON.parse(fs.readFileSync(path.join(spool, 'ims-relay.json'), 'utf8')) as { pid: number }
        ).pid;
        expect(relayPid).not.toBe(npm.pid);
        npm.kill(signal);
        expect(await exited).toBe(0);
        await waitFor('the relay process to end', () => !alive(relayPid!), 15_000);
        // it stopped gracefully: event 1001, and the runtime file is gone
        const ids = fs
          .readFileSync(path.join(spool, 'log', 'events.jsonl'), 'utf8')
          .trim()
          .split('\n')
          .map((l) => (JSON.parse(l) as { id: number }).id);
        expect(ids).toEqual([1000, 1001]);
        expect(fs.existsSync(path.join(spool, 'ims-relay.json'))).toBe(false);
      } finally {
        if (relayPid && alive(relayPid)) process.kill(relayPid, 'SIGKILL');
        npm.kill('SIGKILL');
      }
    },
    60_000,
  );
});

describe('npm ci', () => {
  it('finds no dependency whose engines exclude this Node (no EBADENGINE warning)', () => {
    // a dry run reads package.json and package-lock.json as `npm ci` does, without downloading
    const dir = tempDir('ims-npm-ci-');
    for (const f of ['package.json', 'package-lock.json'])
      fs.copyFileSync(path.join(ROOT, f), path.join(dir, f));
    const run = spawnSync('npm', ['ci', '--dry-run', '--ignore-scripts', '--no-audit', '--no-fund'], {
      cwd: dir,
      encoding: 'utf8',
    });
    expect(run.status).toBe(0);
    expect(run.stderr).not.toContain('EBADENGINE');
    expect(run.stderr.split('\n').filter((l) => l.startsWith('npm warn'))).toEqual([]);
    fs.rmSync(dir, { recursive: true, force: true });
  }, 60_000);
});
