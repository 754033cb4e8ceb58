import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestRelay, type TestRelay } from './helpers/test-relay.js';

const run = promisify(execFile);
const haveSwaks = await run('swaks', ['--version']).then(
  () => true,
  () => false,
);
// CI installs swaks (.ci/run); a developer machine without it skips, visibly
if (process.env.CI && !haveSwaks) throw new Error('swaks is not installed; .ci/run must install it');

let relay: TestRelay;
beforeAll(async () => {
  if (haveSwaks) relay = await startTestRelay({ maxRecipients: '2' });
});
afterAll(async () => {
  await relay?.stop();
});

describe.skipIf(!haveSwaks)('swaks against the running relay', () => {
  it('delivers a message and shows the queue ID in the reply to the final dot', async () => {
    const { stdout } = await run('swaks', [
      '--server',
      `127.0.0.1:${relay.port}`,
      '--from',
      'swaks@example.test',
      '--to',
      'someone@example.test',
      '--header',
      'Subject: from swaks',
      '--body',
      'hello from swaks',
    ]);
    expect(stdout).toMatch(/<- {2}250 OK - Recipient <someone@example\.test>/);
    const queued = /<- {2}250 OK: queued as (\S+)/.exec(stdout);
    expect(queued).not.toBeNull();
    const entry = relay.entries().find((e) => e.queueId === queued![1]);
    expect(entry?.message).toContain('Subject: from swaks');
  });

  it('shows the 452 for the recipients over the cap', async () => {
    const result = await run('swaks', [
      '--server',
      `127.0.0.1:${relay.port}`,
      '--from',
      'swaks@example.test',
      '--to',
      'a@example.test,b@example.test,c@example.test',
    ]).catch((err: { stdout: string }) => err);
    expect(result.stdout).toContain('<** 452 Requested action not taken: Exceed Recipient Limit');
    expect(result.stdout).toMatch(/<- {2}250 OK: queued as/);
  });
});
