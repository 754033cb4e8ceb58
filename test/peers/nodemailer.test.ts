/**
 * nodemailer against the defaults at the real scale: 40,000 in envelope.to, 32,766 in to:, and the
 * README's example exactly as written (only its port is the test relay's) at 40,000 and 100,000.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import nodemailer from 'nodemailer';
import { afterEach, describe, expect, it } from 'vitest';
import type { TestRelay } from '../helpers/test-relay.js';
import { CAP, CAP_REPLY, addresses, defaultRelay, heldRecipients } from './peer-relay.js';

const run = promisify(execFile);
let relay: TestRelay | undefined;
afterEach(async () => {
  await relay?.stop();
  relay = undefined;
});

type Info = {
  accepted: string[];
  rejected: string[];
  rejectedErrors?: { response: string }[];
  response: string;
};

describe('nodemailer on the defaults', () => {
  it('40,000 in envelope.to: 32,766 accepted, 7,234 rejected with the IMS 452, the message stored for the 32,766', async () => {
    relay = await defaultRelay();
    const recipients = addresses(40_000);
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: relay.port, ignoreTLS: true });
    const info = (await transport.sendMail({
      envelope: { from: 'app@example.test', to: recipients },
      from: 'app@example.test',
      to: 'undisclosed-recipients:;',
      subject: 'forty thousand',
      text: 'hi',
    })) as unknown as Info;
    transport.close();
    expect(info.accepted).toEqual(recipients.slice(0, CAP));
    expect(info.rejected).toEqual(recipients.slice(CAP));
    expect(new Set(info.rejectedErrors!.map((e) => e.response))).toEqual(new Set([CAP_REPLY]));
    expect(info.rejectedErrors).toHaveLength(7_234);
    expect(info.response).toMatch(/^250 OK: queued as /);
    expect(heldRecipients(relay)).toEqual([recipients.slice(0, CAP)]);
  });

  it('32,766 in the To: header (about 700 KB of header block): all accepted and stored, event 2113', async () => {
    relay = await defaultRelay();
    const recipients = addresses(CAP);
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: relay.port, ignoreTLS: true });
    const info = (await transport.sendMail({
      from: 'app@example.test',
      to: recipients,
      subject: 'everyone in To:',
      text: 'hi',
    })) as unknown as Info;
    transport.close();
    expect(info.accepted).toHaveLength(CAP);
    expect(info.rejected).toEqual([]);
    const [entry] = relay.entries();
    expect(entry!.envelope.recipients).toHaveLength(CAP);
    expect(entry!.message).toContain('user32765@example.test');
    const event = relay.eventsSeen().find((e) => e.id === 2113);
    expect(event?.queueId).toBe(entry!.queueId);
    expect(event!.data!.headerBytes as number).toBeGreaterThan(600_000);
  });
});

/** The README's "From nodemailer" block, exactly as written there. */
function readmeExample(): string {
  const readme = fs.readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const section = readme.slice(readme.indexOf('### From nodemailer'));
  const block = /```js\n([\s\S]*?)```/.exec(section);
  if (!block) throw new Error('README.md has no nodemailer example');
  return block[1]!;
}

describe("the README's nodemailer example, verbatim", () => {
  it.each([40_000, 100_000])(
    'works as written with %i recipients',
    async (count) => {
      relay = await defaultRelay();
      const example = readmeExample();
      expect(example).toContain('port: 2525,');
      // the only change: the port of this test's relay instead of npm start's 2525; `recipients` is
      // the example's free variable, and what it shows is printed
      const script = [
        `const recipients = Array.from({ length: ${count} }, (_, i) => \`user\${i}@example.test\`);`,
        example.replace('port: 2525,', `port: ${relay.port},`),
        'console.log(JSON.stringify({ accepted: info.accepted, rejected: info.rejected.length,',
        '  replies: [...new Set(info.rejectedErrors.map((e) => e.response))], response: info.response }));',
        'transport.close();',
      ].join('\n');
      // in node_modules/.cache so that `import nodemailer from 'nodemailer'` resolves as in a project
      const cache = path.join(process.cwd(), 'node_modules', '.cache');
      fs.mkdirSync(cache, { recursive: true });
      const dir = fs.mkdtempSync(path.join(cache, 'readme-example-'));
      const file = path.join(dir, 'example.mjs');
      fs.writeFileSync(file, script);
      try {
        const { stdout } = await run(process.execPath, [file], { maxBuffer: 64 * 1024 * 1024 });
        const shown = JSON.parse(stdout) as {
          accepted: string[];
          rejected: number;
          replies: string[];
          response: string;
        };
        expect(shown.accepted).toEqual(addresses(CAP)); // "the first 32,766"
        expect(shown.rejected).toBe(count - CAP); // "the rest"
        expect(shown.replies).toEqual([CAP_REPLY]);
        expect(shown.response).toMatch(/^250 OK: queued as [0-9A-F]{11}-[0-9A-F]{5}-[0-9A-F]{4}$/);
        expect(heldRecipients(relay)).toEqual([addresses(CAP)]);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
    120_000,
  );
});
