/**
 * The message store at the real scale (issue 15): one message to 32,766 recipients, sent with
 * nodemailer to the built relay on its default settings (capture mode), is one message file whose
 * size is at most twice the message's (the envelope goes to a sidecar counted with the index, as
 * Postfix adds `Delivered-To:` only to a single-recipient delivery), and `ims-relay store reindex`
 * rebuilds all 32,766 recipients from the files.
 */
import fs from 'node:fs';
import path from 'node:path';
import nodemailer from 'nodemailer';
import { describe, expect, it } from 'vitest';
import { StoreIndex } from '../src/store/store-index.js';
import { runCli, startRelayProcess } from './helpers/relay-process.js';
import { tempDir } from './helpers/test-relay.js';
import { waitFor } from './helpers/wait-for.js';

const N = 32_766;

describe('message store size at 32,766 recipients', () => {
  it('keeps the message once, at most 2 x its size, and reindex gives back every recipient', async () => {
    const spool = tempDir('ims-store-size-');
    const relay = await startRelayProcess(['--spool', spool]);
    const recipients = Array.from({ length: N }, (_, i) => `user${i + 1}@example.test`);
    let queueId: string;
    try {
      const transport = nodemailer.createTransport({ host: '127.0.0.1', port: relay.port, ignoreTLS: true });
      const info = await transport.sendMail({
        from: 'bulk@example.test',
        to: recipients,
        subject: 'to every one of them',
        text: 'One message, 32,766 recipients.\n'.repeat(20),
      });
      transport.close();
      expect(info.accepted).toHaveLength(N);
      queueId = info.response.split(' ').pop()!;
      await waitFor('the queue to empty', () => fs.readdirSync(path.join(spool, 'in')).length === 0, 120_000);
    } finally {
      relay.child.kill('SIGTERM');
      await relay.exited;
    }
    const messages = path.join(spool, 'store', 'messages');
    expect(fs.readdirSync(messages)).toEqual([`${queueId}.1.eml`]);
    const file = fs.readFileSync(path.join(messages, `${queueId}.1.eml`));
    // Return-Path only (several recipients), then the message as received, starting with Received:
    const firstLines = file.toString('latin1', 0, 2000).split('\r\n');
    expect(firstLines[0]).toBe('Return-Path: <bulk@example.test>');
    expect(firstLines[1]).toMatch(/^Received: from /);
    // the message as received (the spool entry is gone once captured): the file after Return-Path
    const messageBytes = file.length - Buffer.byteLength(firstLines[0]! + '\r\n');
    // the message itself lists the 32,766 addresses in To: (about 20 bytes each)
    expect(messageBytes).toBeGreaterThan(N * 20);
    expect(file.length).toBeLessThanOrEqual(2 * messageBytes);
    // the envelope sidecar: every recipient once, counted with the index
    const sidecar = fs.readFileSync(path.join(spool, 'store', 'envelopes', `${queueId}.1.rcpt`), 'utf8');
    expect(sidecar.split('\n').filter(Boolean)).toEqual(recipients);
    const indexBytes = fs
      .readdirSync(path.join(spool, 'store'))
      .filter((n) => n.startsWith('index.sqlite'))
      .reduce((sum, n) => sum + fs.statSync(path.join(spool, 'store', n)).size, 0);
    console.log(
      `32,766 recipients: message ${messageBytes} B, file ${file.length} B (${(file.length / messageBytes).toFixed(3)} x), ` +
        `sidecar ${Buffer.byteLength(sidecar)} B, index ${indexBytes} B`,
    );

    // the index is derivable from the files: rebuild it and find every recipient
    const reindex = runCli(['store', 'reindex', '--spool', spool]);
    expect(await reindex.exited).toBe(0);
    expect(reindex.stdout()).toContain('index rebuilt: 1 message(s)');
    const index = new StoreIndex(path.join(spool, 'store', 'index.sqlite'));
    try {
      const [row] = index.all();
      expect(row).toMatchObject({ id: `${queueId}.1`, recipientCount: N, sender: 'bulk@example.test' });
      expect(index.recipients(row!.seq, 0, N + 1)).toEqual(recipients);
      expect(index.all({ to: 'USER32766@example.test' }).map((m) => m.id)).toEqual([`${queueId}.1`]);
    } finally {
      index.close();
    }
  }, 300_000);
});
