// `npm run test:container`: the README's ImsRelayContainer example, taken from the README as written,
// run with vitest in a fresh project that installed the packed package (test/helpers/packed-project.ts)
// — the other README examples run so in test/package-exports.test.ts. Needs what the other container
// tests need: DOCKER_HOST (or a local Docker) and the image (IMS_RELAY_IMAGE, default ims-relay:test).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { packedProject, readmeTestExamples, type PackedProject } from '../helpers/packed-project.js';

let packed: PackedProject;
beforeAll(() => {
  packed = packedProject(['nodemailer', 'vitest', 'testcontainers']);
}, 300_000);
afterAll(() => packed?.remove());

it("runs the README's ImsRelayContainer example from a project that installed the packed package", () => {
  const examples = readmeTestExamples().filter((code) => code.includes("from 'ims-relay/testcontainers'"));
  expect(examples).toHaveLength(1);
  fs.writeFileSync(path.join(packed.dir, 'readme-container.test.ts'), examples[0]!);
  const run = spawnSync(
    process.execPath,
    [path.join(packed.dir, 'node_modules', 'vitest', 'vitest.mjs'), 'run', 'readme-container.test.ts'],
    {
      cwd: packed.dir,
      encoding: 'utf8',
      timeout: 170_000,
      env: { ...process.env, CI: 'true', NO_COLOR: '1' },
    },
  );
  expect(stripVTControlCharacters(run.stdout + run.stderr)).toMatch(/Tests +1 passed \(1\)/);
  expect(run.status).toBe(0);
}, 180_000);
