/**
 * Python's smtplib and msmtp against the defaults at the real scale. smtplib sends DATA for the
 * accepted recipients and reports the others; msmtp gives up the whole message on the first 452.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir, type TestRelay } from '../helpers/test-relay.js';
import { waitFor } from '../helpers/wait-for.js';
import { CAP, addresses, defaultRelay, heldRecipients } from './peer-relay.js';

const run = promisify(execFile);
const have = (cmd: string, args: string[]) =>
  run(cmd, args).then(
    () => true,
    () => false,
  );
const havePython = await have('python3', ['--version']);
const haveMsmtp = await have('msmtp', ['--version']);
if (process.env.CI && !(havePython && haveMsmtp))
  throw new Error('python3 and msmtp must be installed (.ci/run)');

let relay: TestRelay | undefined;
afterEach(async () => {
  await relay?.stop();
  relay = undefined;
});

const SMTPLIB = `
import json, smtplib, sys
port, count = int(sys.argv[1]), int(sys.argv[2])
rcpts = ['user%d@example.test' % i for i in range(count)]
with smtplib.SMTP('127.0.0.1', port) as s:
    refused = s.sendmail('app@example.test', rcpts, 'Subject: from smtplib\\r\\n\\r\\nhi\\r\\n')
print(json.dumps({'refused': len(refused),
                  'first': min(refused, key=lambda a: int(a[4:a.index('@')])),
                  'replies': sorted({'%d %s' % (c, m.decode()) for c, m in refused.values()})}))
`;

describe.skipIf(!havePython)('Python smtplib', () => {
  it('sendmail to 40,000: the refused dict holds 7,234 × (452, …) and the message is stored for 32,766', async () => {
    relay = await defaultRelay();
    const { stdout } = await run('python3', ['-c', SMTPLIB, String(relay.port), '40000']);
    expect(JSON.parse(stdout)).toEqual({
      refused: 7_234,
      first: `user${CAP}@example.test`,
      replies: ['452 Requested action not taken: Exceed Recipient Limit'],
    });
    expect(heldRecipients(relay)).toEqual([addresses(CAP)]);
  }, 120_000);
});

describe.skipIf(!haveMsmtp)('msmtp', () => {
  it('to 33,000: reports the first refused recipient with the 452 and sends nothing', async () => {
    relay = await defaultRelay();
    const dir = tempDir('ims-msmtp-');
    const message = path.join(dir, 'message.txt');
    fs.writeFileSync(message, 'Subject: from msmtp\r\n\r\nhi\r\n');
    const args = [
      '--host=127.0.0.1',
      `--port=${relay.port}`,
      '--auth=off',
      '--tls=off',
      '--from=app@example.test',
      '--',
      ...addresses(33_000),
    ];
    const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = execFile('msmtp', args, { maxBuffer: 16 * 1024 * 1024 }, (err, _stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stderr }),
      );
      fs.createReadStream(message).pipe(child.stdin!);
    });
    expect(result.stderr).toContain(
      `msmtp: recipient address user${CAP}@example.test not accepted by the server`,
    );
    expect(result.stderr).toContain(
      'msmtp: server message: 452 Requested action not taken: Exceed Recipient Limit',
    );
    expect(result.stderr).toContain('msmtp: could not send mail');
    expect(result.code).toBe(69); // EX_UNAVAILABLE: msmtp does not tell a 452 from a refusal
    expect(relay.entries()).toEqual([]);
    // the relay counted the refusals when msmtp's transaction ended, and kept serving
    const capped = await waitFor('event 2100', () => relay!.eventsSeen().find((e) => e.id === 2100));
    expect(capped.data).toMatchObject({ accepted: CAP });
    expect(capped.data!.refused as number).toBeGreaterThan(0);
  }, 120_000);
});
