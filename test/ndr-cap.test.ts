import fs from 'node:fs';
import path from 'node:path';
import { simpleParser } from 'mailparser';
import { afterEach, describe, expect, it } from 'vitest';
import { capturedFiles, capturedMailboxes } from './helpers/captured.js';
import { startTestRelay, type TestRelay } from './helpers/test-relay.js';
import { waitFor } from './helpers/wait-for.js';

let relay: TestRelay | undefined;
afterEach(async () => {
  await relay?.stop();
  relay = undefined;
});

const TOTAL = 100_000;

function dropPickupFile(r: TestRelay, sender: string, count: number): void {
  const receivers = Array.from({ length: count }, (_, i) => `X-Receiver: <user${i}@fail.test>\r\n`).join('');
  const file = path.join(r.spool.folder('pickup'), 'bulk.eml');
  fs.writeFileSync(
    file + '.part',
    `X-Sender: ${sender}\r\n${receivers}Subject: to everyone\r\nFrom: ${sender || 'nobody'}\r\n\r\nHello all.\r\n`,
  );
  fs.renameSync(file + '.part', file);
}

async function statusOf(file: string): Promise<{ text: string; status: string }> {
  const parsed = await simpleParser(fs.readFileSync(file), { keepDeliveryStatus: true });
  return {
    text: parsed.text ?? '',
    status: parsed.attachments.find((a) => a.contentType === 'message/delivery-status')!.content.toString(),
  };
}

const count = (text: string, field: string) => text.split('\r\n').filter((l) => l.startsWith(field)).length;

describe('NDR recipient cap (Q272672)', () => {
  it('a pickup file with 100,000 failing recipients gets one NDR listing exactly 32,766, the note, and one 3041', async () => {
    relay = await startTestRelay({
      mode: 'capture',
      fail: ['*@fail.test=550 5.1.1 User unknown'],
      pickupInterval: '50ms',
    });
    dropPickupFile(relay, 'sender@example.test', TOTAL);
    const spool = relay.config.spool;
    const box = () => capturedFiles(spool, 'sender@example.test');
    const [ndrFile] = await waitFor('the NDR', () => (box().length > 0 ? box() : undefined), 60_000);
    await relay.delivery!.idle();
    expect(box()).toHaveLength(1);
    const { text, status } = await statusOf(ndrFile!);
    expect(count(status, 'Final-Recipient:')).toBe(32_766);
    expect(status).toContain('Final-Recipient: rfc822; user0@fail.test');
    expect(status).toContain('Final-Recipient: rfc822; user32765@fail.test');
    expect(status).not.toContain('user32766@fail.test');
    expect(text).toContain(
      '67234 further recipients could not be delivered and are not listed in this report',
    );
    expect(text).toContain('exceeds 32766');
    const capped = relay.eventsSeen().filter((e) => e.id === 3041);
    expect(capped).toHaveLength(1);
    expect(capped[0]!.message).toContain(
      'Unable to deliver mail to all recipients. The total number of recipients exceeds 32766.',
    );
    expect(capped[0]!.data).toMatchObject({ failed: TOTAL, listed: 32_766, omitted: 67_234, reports: 1 });
    expect(relay.eventsSeen().filter((e) => e.id === 4117)).toHaveLength(1);
  }, 120_000);

  it('with --ndr-overflow split, four NDRs list all 100,000, still with one 3041', async () => {
    relay = await startTestRelay({
      mode: 'capture',
      fail: ['*@fail.test=550 5.1.1 User unknown'],
      ndrOverflow: 'split',
      pickupInterval: '50ms',
    });
    dropPickupFile(relay, 'sender@example.test', TOTAL);
    const spool = relay.config.spool;
    const box = () => capturedFiles(spool, 'sender@example.test');
    const files = await waitFor('four NDRs', () => (box().length === 4 ? box() : undefined), 60_000);
    const listed = await Promise.all(
      files.map(async (f) => count((await statusOf(f)).status, 'Final-Recipient:')),
    );
    expect(listed.sort((a, b) => b - a)).toEqual([32_766, 32_766, 32_766, 1_702]);
    expect(relay.eventsSeen().filter((e) => e.id === 3041)).toHaveLength(1);
  }, 120_000);

  it('sends no NDR for a message from the null sender', async () => {
    relay = await startTestRelay({
      mode: 'capture',
      fail: ['*@fail.test=550 5.1.1 User unknown'],
      pickupInterval: '50ms',
    });
    dropPickupFile(relay, '<>', 10);
    await waitFor('the archive', async () => (await relay!.spool.list('archive')).length === 1);
    await relay.delivery!.idle();
    expect(await relay.spool.list('out')).toEqual([]);
    expect(capturedMailboxes(relay.config.spool)).toEqual([]);
    expect(relay.eventsSeen().filter((e) => e.id === 3041)).toHaveLength(0);
  });
});
