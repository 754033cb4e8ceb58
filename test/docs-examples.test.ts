import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '..');
const havePython = fs.existsSync('/usr/bin/python3');

describe('docs/testing.md', () => {
  it.skipIf(!havePython)(
    "runs the Python example (unittest + smtplib + urllib against the relay's CLI)",
    async () => {
      const { stderr } = await run('python3', ['-m', 'unittest', '-v', 'test_mail.py'], {
        cwd: path.join(root, 'docs', 'examples'),
        env: {
          ...process.env,
          IMS_RELAY_CMD: `${process.execPath} ${path.join(root, 'bin', 'ims-relay.js')}`,
        },
        timeout: 60_000,
      });
      expect(stderr).toMatch(/Ran 3 tests/);
      expect(stderr).toMatch(/\nOK\s*$/);
    },
    90_000,
  );

  it('the README shows the sendAll / rules / tags and container examples exactly as they are run', () => {
    const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
    for (const file of ['test/readme-senders.test.ts', 'test/container/readme-container.test.ts']) {
      expect(readme, file).toContain(fs.readFileSync(path.join(root, file), 'utf8').trimEnd());
    }
  });

  it('shows each example file exactly as it is run', () => {
    const doc = fs.readFileSync(path.join(root, 'docs', 'testing.md'), 'utf8');
    for (const file of [
      'docs/examples/test_mail.py',
      'test/readme-senders.test.ts',
      'test/container/readme-container.test.ts',
    ]) {
      expect(doc, file).toContain(fs.readFileSync(path.join(root, file), 'utf8').trimEnd());
    }
  });
});
