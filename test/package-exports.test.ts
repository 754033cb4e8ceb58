/**
 * The package as a user installs it (issue 14 item 7): `npm pack`, install the tarball into an
 * empty project, then `require('ims-relay')` from CommonJS, `import('ims-relay')` from ESM, and
 * run docs/jest.md's example test with jest — no flags, no configuration.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from './helpers/test-relay.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
let project: string;

beforeAll(() => {
  project = tempDir('ims-consumer-');
  // dist/ is built by `npm test` (pretest); --ignore-scripts keeps pack from building it again
  const packed = JSON.parse(
    execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', project], {
      cwd: ROOT,
      encoding: 'utf8',
    }),
  ) as { filename: string }[];
  fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true }));
  execFileSync(
    'npm',
    [
      'install',
      `./${packed[0]!.filename}`,
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      '--loglevel',
      'error',
    ],
    { cwd: project, encoding: 'utf8' },
  );
}, 300_000);
afterAll(() => fs.rmSync(project, { recursive: true, force: true }));

function runNode(args: string[]) {
  return spawnSync(process.execPath, args, { cwd: project, encoding: 'utf8', timeout: 60_000 });
}

describe('the packed package', () => {
  it('can be required from CommonJS, and the relay it starts takes mail', () => {
    const script = `
      const { startRelay, EVENTS } = require('ims-relay');
      const net = require('node:net');
      startRelay({ maxRecipients: 2 }).then(async (relay) => {
        const greeting = await new Promise((resolve) => {
          const s = net.connect(relay.smtpPort, '127.0.0.1');
          s.once('data', (d) => { resolve(d.toString().trim()); s.end('QUIT\\r\\n'); });
        });
        const file = require.resolve('ims-relay');
        await relay.stop();
        console.log(JSON.stringify({ greeting, file, capped: EVENTS.ndrRecipientsCapped.id }));
      });`;
    const run = runNode(['-e', script]);
    expect(run.stderr).toBe('');
    const result = JSON.parse(run.stdout) as { greeting: string; file: string; capped: number };
    expect(result.greeting).toMatch(/^220 .* ESMTP ims-relay ready$/);
    expect(result.file).toBe(path.join(project, 'node_modules', 'ims-relay', 'dist', 'cjs', 'index.js'));
    expect(result.capped).toBe(3041);
  });

  it('is still an ES module for import', () => {
    const run = runNode([
      '--input-type=module',
      '-e',
      `const m = await import('ims-relay'); console.log(typeof m.startRelay, import.meta.resolve('ims-relay'));`,
    ]);
    expect(run.stderr).toBe('');
    expect(run.stdout.trim()).toBe(
      `function file://${path.join(project, 'node_modules', 'ims-relay', 'dist', 'index.js')}`,
    );
  });

  it('exports ims-relay/client (sendAll) and ims-relay/testcontainers to ESM', () => {
    const run = runNode([
      '--input-type=module',
      '-e',
      `const { startRelay } = await import('ims-relay');
       const { sendAll } = await import('ims-relay/client');
       const relay = await startRelay({ maxRecipients: 2 });
       const to = ['a', 'b', 'c', 'd', 'e'].map((n) => n + '@example.test');
       const result = await sendAll({ host: '127.0.0.1', port: relay.smtpPort, ignoreTLS: true },
         { from: 'app@example.test', to, subject: 'packed', text: 'x' });
       await relay.stop();
       console.log(JSON.stringify({ accepted: result.accepted.length, transactions: result.transactions.length,
         container: import.meta.resolve('ims-relay/testcontainers') }));`,
    ]);
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toEqual({
      accepted: 5,
      transactions: 3,
      container: `file://${path.join(project, 'node_modules', 'ims-relay', 'dist', 'testcontainers', 'index.js')}`,
    });
  });

  it('runs the jest example of docs/jest.md as it stands, without --experimental-vm-modules', () => {
    const doc = fs.readFileSync(path.join(ROOT, 'docs', 'jest.md'), 'utf8');
    const example = /<!-- example: welcome\.test\.js -->\s*```js\n([\s\S]*?)```/.exec(doc);
    expect(example).not.toBeNull();
    fs.writeFileSync(path.join(project, 'welcome.test.js'), example![1]!);
    // jest is this project's devDependency; it runs in the consumer project with no configuration
    const run = runNode([
      path.join(ROOT, 'node_modules', 'jest', 'bin', 'jest.js'),
      '--ci',
      '--rootDir',
      project,
    ]);
    expect(run.stderr).toMatch(/Tests: +3 passed, 3 total/);
    expect(run.stderr).not.toMatch(/did not exit|open handle|experimental-vm-modules/i);
    expect(run.status).toBe(0);
  });
});
