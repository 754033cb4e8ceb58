import fs from 'node:fs';
import { simpleParser } from 'mailparser';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capturedFiles } from './helpers/captured.js';
import { PostfixInstance, havePostfix } from './helpers/postfix-instance.js';
import { startTestRelay, type TestRelay } from './helpers/test-relay.js';
import { waitFor } from './helpers/wait-for.js';

// CI installs Postfix (.ci/run) and runs as root; elsewhere this is skipped, visibly
if (process.env.CI && !havePostfix)
  throw new Error('Postfix is not installed (or not root); .ci/run must install it');

let sink: TestRelay;
let postfix: PostfixInstance;
let relay: TestRelay;

beforeAll(async () => {
  if (!havePostfix) return;
  // ims-relay (relay mode) -> Postfix -> ims-relay (capture mode): the last hop shows what arrived
  sink = await startTestRelay({ mode: 'capture', hostname: 'sink.test' });
  postfix = await PostfixInstance.start({
    relayhost: `[127.0.0.1]:${sink.port}`,
    reject: ['nobody@example.test'],
  });
  relay = await startTestRelay({
    mode: 'relay',
    upstream: `smtp://127.0.0.1:${postfix.port}`,
    retryInitial: '1s',
  });
}, 60_000);

afterAll(async () => {
  await relay?.stop();
  await postfix?.stop();
  await sink?.stop();
});

describe.skipIf(!havePostfix)('relay through a real Postfix', () => {
  it('delivers through Postfix, and turns Postfix’s 550 into an NDR that comes back through it', async () => {
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: relay.port, ignoreTLS: true });
    const info = await transport.sendMail({
      envelope: { from: 'sender@example.test', to: ['alice@example.test', 'nobody@example.test'] },
      from: 'sender@example.test',
      to: 'alice@example.test, nobody@example.test',
      subject: 'through postfix',
      text: 'hello via Postfix',
    });
    transport.close();
    const queueId = info.response.split(' ').pop()!;

    const alice = () => capturedFiles(sink.config.spool, 'alice@example.test');
    const [delivered] = await waitFor('alice’s copy at the last hop', () => alice()[0] && alice(), 30_000);
    const message = await simpleParser(fs.readFileSync(delivered!));
    expect(message.subject).toBe('through postfix');
    const received = message.headers.get('received');
    const trace = (Array.isArray(received) ? received : [received]).join('\n');
    expect(trace).toContain('postfix.test'); // Postfix's own Received: header
    expect(trace).toContain(`with ESMTP id ${queueId}`); // ours

    const sender = () => capturedFiles(sink.config.spool, 'sender@example.test');
    const [ndrFile] = await waitFor('the NDR at the last hop', () => sender()[0] && sender(), 30_000);
    const ndr = await simpleParser(fs.readFileSync(ndrFile!), { keepDeliveryStatus: true });
    expect(ndr.subject).toBe('Undeliverable: through postfix');
    const status = ndr.attachments
      .find((a) => a.contentType === 'message/delivery-status')!
      .content.toString();
    expect(status).toContain('Final-Recipient: rfc822; nobody@example.test');
    expect(status).toContain('Status: 5.1.1');
    expect(status).toContain(`Remote-MTA: dns; 127.0.0.1`);
    expect(status.replace(/\r?\n[ \t]+/g, ' ')).toMatch(
      /Diagnostic-Code: smtp; 550 5\.1\.1 <nobody@example\.test>: Recipient address rejected/,
    );
    await waitFor('the original in archive/', async () =>
      (await relay.spool.list('archive')).includes(queueId),
    );
  }, 60_000);
});
