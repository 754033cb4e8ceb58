/**
 * The package as a user installs it (issue 14 item 7, issue 17): `npm pack`, install the tarball
 * into an empty project (test/helpers/packed-project.ts), then `require('ims-relay')` from
 * CommonJS, `import('ims-relay')` from ESM, `ims-relay/client` (sendAll) and
 * `ims-relay/testcontainers` from both, tags and SMTP-stage rules, docs/jest.md's example test with
 * jest, and the README's "Testing your mail code" examples, taken from the README as written, with
 * vitest — no flags, no configuration.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, packedProject, readmeTestExamples, type PackedProject } from './helpers/packed-project.js';

let packed: PackedProject;
let project: string;

beforeAll(() => {
  packed = packedProject(['nodemailer', 'vitest', 'testcontainers']);
  project = packed.dir;
}, 300_000);
afterAll(() => packed?.remove());

function runNode(args: string[]) {
  return spawnSync(process.execPath, args, { cwd: project, encoding: 'utf8', timeout: 60_000 });
}

/**
 * What the client script checks, from CommonJS or ESM: sendAll through a cap of 2 with an
 * SMTP-stage rule refusing one recipient, sending as AUTH name `name` (a tag, --accept-any-auth)
 * with an X-Ims-Relay-Tag: header besides; prints what it saw as JSON.
 */
const clientChecks = (name: string) => `
  const relay = await startRelay({
    maxRecipients: 2,
    acceptAnyAuth: true,
    smtpRule: ['rcpt:*@nouser.test=550 5.1.1 User unknown'],
  });
  const to = ['a', 'b', 'c', 'd', 'e'].map((n) => n + '@example.test');
  const result = await sendAll(
    { host: '127.0.0.1', port: relay.smtpPort, ignoreTLS: true, auth: { user: '${name}', pass: 'any' } },
    { from: 'app@example.test', to: [...to, 'ghost@nouser.test'], subject: 'packed', text: 'x',
      headers: { 'X-Ims-Relay-Tag': 'header-tag' } });
  await relay.waitForMessage((m) => m.recipients.includes('e@example.test'));
  const api = new RelayApi('http://127.0.0.1:' + relay.httpPort);
  const byName = (await api.listMail({ tag: '${name}' })).total;
  const byHeader = (await relay.messages({ tag: 'header-tag' })).length;
  const deleted = await relay.deleteMessages({ tag: '${name}' });
  await relay.stop();
  console.log(JSON.stringify({
    accepted: result.accepted.length, transactions: result.transactions.length,
    rejected: result.rejected.map((r) => r.recipient + ' ' + r.code), byName, byHeader, deleted,
    ImsRelayContainer: typeof ImsRelayContainer }));`;

const expectedClientResult = {
  accepted: 5,
  transactions: 3,
  rejected: ['ghost@nouser.test 550'],
  byName: 3,
  byHeader: 3,
  deleted: 3,
  ImsRelayContainer: 'function',
};

const installed = (...parts: string[]) => path.join(project, 'node_modules', 'ims-relay', ...parts);

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
    expect(result.file).toBe(installed('dist', 'cjs', 'index.js'));
    expect(result.capped).toBe(3041);
  });

  it('is still an ES module for import', () => {
    const run = runNode([
      '--input-type=module',
      '-e',
      `const m = await import('ims-relay'); console.log(typeof m.startRelay, import.meta.resolve('ims-relay'));`,
    ]);
    expect(run.stderr).toBe('');
    expect(run.stdout.trim()).toBe(`function file://${installed('dist', 'index.js')}`);
  });

  it('ims-relay/client and ims-relay/testcontainers from ESM: sendAll, SMTP-stage rules, tags', () => {
    const run = runNode([
      '--input-type=module',
      '-e',
      `import { startRelay } from 'ims-relay';
       import { sendAll, RelayApi } from 'ims-relay/client';
       import { ImsRelayContainer } from 'ims-relay/testcontainers';
       ${clientChecks('esm-test')}
       console.log(import.meta.resolve('ims-relay/client'), import.meta.resolve('ims-relay/testcontainers'));`,
    ]);
    expect(run.stderr).toBe('');
    const [json, files] = run.stdout.trim().split('\n');
    expect(JSON.parse(json!)).toEqual(expectedClientResult);
    expect(files).toBe(
      `file://${installed('dist', 'client', 'index.js')} file://${installed('dist', 'testcontainers', 'index.js')}`,
    );
  });

  it('ims-relay/client and ims-relay/testcontainers from CommonJS (require): the same', () => {
    const run = runNode([
      '-e',
      `const { startRelay } = require('ims-relay');
       const { sendAll, RelayApi } = require('ims-relay/client');
       const { ImsRelayContainer } = require('ims-relay/testcontainers');
       (async () => {
         ${clientChecks('cjs-test')}
         console.log(require.resolve('ims-relay/client'), require.resolve('ims-relay/testcontainers'));
       })();`,
    ]);
    expect(run.stderr).toBe('');
    const [json, files] = run.stdout.trim().split('\n');
    expect(JSON.parse(json!)).toEqual(expectedClientResult);
    expect(files).toBe(
      `${installed('dist', 'cjs', 'client', 'index.js')} ${installed('dist', 'cjs', 'testcontainers', 'index.js')}`,
    );
  });

  it('runs the README\'s "Testing your mail code" examples as written there, with vitest', () => {
    const examples = readmeTestExamples();
    // startRelay; sendAll, SMTP-stage rules and tags; ImsRelayContainer
    expect(examples).toHaveLength(3);
    const needsContainer = (code: string) => code.includes("from 'ims-relay/testcontainers'");
    // ImsRelayContainer needs a container engine and an image: `npm run test:container` runs that one
    const files = examples
      .filter((code) => !needsContainer(code))
      .map((code, i) => {
        const file = `readme-${i + 1}.test.ts`;
        fs.writeFileSync(path.join(project, file), code);
        return file;
      });
    expect(files).toHaveLength(2);
    const tests = examples
      .filter((code) => !needsContainer(code))
      .reduce((n, code) => n + (code.match(/^test\(/gm)?.length ?? 0), 0);
    const run = spawnSync(
      process.execPath,
      [path.join(project, 'node_modules', 'vitest', 'vitest.mjs'), 'run', ...files],
      {
        cwd: project,
        encoding: 'utf8',
        timeout: 120_000,
        env: { ...process.env, CI: 'true', NO_COLOR: '1' },
      },
    );
    expect(stripVTControlCharacters(run.stdout + run.stderr)).toMatch(
      new RegExp(`Tests +${tests} passed \\(${tests}\\)`),
    );
    expect(run.status).toBe(0);
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
      'welcome.test.js', // the README's vitest examples are in the same folder
    ]);
    expect(run.stderr).toMatch(/Tests: +3 passed, 3 total/);
    expect(run.stderr).not.toMatch(/did not exit|open handle|experimental-vm-modules/i);
    expect(run.status).toBe(0);
  });
});
