import fs from 'node:fs';
import path from 'node:path';
import { simpleParser } from 'mailparser';
import nodemailer from 'nodemailer';
import { afterEach, describe, expect, it } from 'vitest';
import { capturedFiles, capturedMailboxes } from './helpers/captured.js';
import { startTestRelay, type TestRelay } from './helpers/test-relay.js';
import { waitFor } from './helpers/wait-for.js';

let relay: TestRelay | undefined;
afterEach(async () => {
  await relay?.stop();
  relay = undefined;
});

const captured = (r: TestRelay, address: string) => capturedFiles(r.config.spool, address);

describe('capture mode', () => {
  it('captures the message once in the store, for every recipient, and empties the queue', async () => {
    relay = await startTestRelay({ mode: 'capture' });
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: relay.port, ignoreTLS: true });
    const info = await transport.sendMail({
      from: 'app@example.test',
      to: ['Alice@Example.test', 'bob@example.test'],
      subject: 'captured',
      text: 'hello mailbox',
    });
    transport.close();
    const queueId = info.response.split(' ').pop()!;
    const seen = new Set<string>();
    for (const who of ['alice@example.test', 'bob@example.test']) {
      const files = await waitFor(`a message for ${who}`, () => {
        const f = captured(relay!, who);
        return f.length > 0 ? f : undefined;
      });
      expect(files).toHaveLength(1);
      expect(path.basename(files[0]!)).toBe(`${queueId}.1.eml`);
      seen.add(files[0]!);
      const raw = fs.readFileSync(files[0]!);
      // the final delivery's trace: the envelope sender; the two recipients (as given) are in the
      // envelope sidecar, since Delivered-To: names one recipient
      expect(raw.toString().split('\r\n')[0]).toBe('Return-Path: <app@example.test>');
      expect(raw.toString().split('\r\n')[1]).toMatch(/^Received: from /);
      expect(
        fs.readFileSync(path.join(relay.config.spool, 'store', 'envelopes', `${queueId}.1.rcpt`), 'utf8'),
      ).toBe('Alice@example.test\nbob@example.test\n'); // nodemailer writes domains in lower case
      const parsed = await simpleParser(raw);
      expect(parsed.subject).toBe('captured');
      expect(parsed.text?.trim()).toBe('hello mailbox');
      expect(parsed.headers.get('received')).toBeDefined();
    }
    // one file for both recipients
    expect(seen.size).toBe(1);
    expect(fs.readdirSync(path.join(relay.config.spool, 'store', 'messages'))).toHaveLength(1);
    await waitFor('the queue to empty', async () => (await relay!.spool.list('in')).length === 0);
    expect(await relay.spool.list('archive')).toEqual([]);
    // the event follows the removal from in/
    expect((await waitFor('event 1101', () => relay!.eventsSeen().find((e) => e.id === 1101))).queueId).toBe(
      queueId,
    );
  });

  it('keeps delivered messages in archive/ with --archive', async () => {
    relay = await startTestRelay({ mode: 'capture', archive: 'true' });
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: relay.port, ignoreTLS: true });
    const info = await transport.sendMail({
      from: 'a@example.test',
      to: 'b@example.test',
      subject: 'x',
      text: 'y',
    });
    transport.close();
    const queueId = info.response.split(' ').pop()!;
    await waitFor('the archive', async () => (await relay!.spool.list('archive')).includes(queueId));
  });

  it('fails recipients that match a failure rule, archives the message with 4117 and sends the sender an NDR', async () => {
    relay = await startTestRelay({ mode: 'capture', fail: ['*@bounce.test=550 5.1.1 User unknown'] });
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: relay.port, ignoreTLS: true });
    const info = await transport.sendMail({
      envelope: { from: 'sender@example.test', to: ['ok@example.test', 'gone@bounce.test'] },
      from: 'sender@example.test',
      to: 'ok@example.test, gone@bounce.test',
      subject: 'half bounces',
      text: 'body',
    });
    transport.close();
    const queueId = info.response.split(' ').pop()!;
    const ndrFile = await waitFor(
      'the NDR in the sender mailbox',
      () => captured(relay!, 'sender@example.test')[0],
    );
    expect(captured(relay, 'ok@example.test')).toHaveLength(1);
    // a single recipient: X-Original-To and Delivered-To in the file, as Postfix's local delivery adds
    expect(
      fs.readFileSync(captured(relay, 'ok@example.test')[0]!, 'latin1').split('\r\n').slice(0, 3),
    ).toEqual([
      'Return-Path: <sender@example.test>',
      'X-Original-To: ok@example.test',
      'Delivered-To: ok@example.test',
    ]);
    expect(captured(relay, 'gone@bounce.test')).toEqual([]);
    const ndr = await simpleParser(fs.readFileSync(ndrFile), { keepDeliveryStatus: true });
    expect(ndr.subject).toBe('Undeliverable: half bounces');
    expect(ndr.headers.get('auto-submitted')).toBe('auto-replied');
    const status = ndr.attachments
      .find((a) => a.contentType === 'message/delivery-status')!
      .content.toString();
    expect(status).toContain('Final-Recipient: rfc822; gone@bounce.test');
    expect(status).toContain('Action: failed');
    expect(status).toContain('Status: 5.1.1');
    expect(status).toContain('Diagnostic-Code: smtp; 550 5.1.1 User unknown');
    expect(status).not.toContain('ok@example.test');
    await waitFor('the archive', async () => (await relay!.spool.list('archive')).includes(queueId));
    const archived = await waitFor('event 4117', () => relay!.eventsSeen().find((e) => e.id === 4117));
    expect(archived?.queueId).toBe(queueId);
    expect(archived?.data?.failed).toBe(1);
  });

  it('retries a temporary failure on a short schedule, then delivers when the rule is gone', async () => {
    relay = await startTestRelay({
      mode: 'capture',
      fail: ['later@example.test=451 4.2.1 Try again'],
      retryInitial: '200ms',
      retryMax: '400ms',
    });
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: relay.port, ignoreTLS: true });
    const info = await transport.sendMail({
      from: 'a@example.test',
      to: 'later@example.test',
      subject: 'retry me',
      text: 'y',
    });
    transport.close();
    const queueId = info.response.split(' ').pop()!;
    await waitFor('two attempts', async () => (await relay!.spool.readJournal('in', queueId)).attempts >= 2);
    expect(captured(relay, 'later@example.test')).toHaveLength(0);
    const journal = await relay.spool.readJournal('in', queueId);
    expect(journal.deferred.get(0)?.diagnostic).toBe('451 4.2.1 Try again');
    expect(journal.attempts).toBeLessThanOrEqual(3); // retries wait for the schedule, not one after another
    expect(journal.retryAt!.getTime()).toBeGreaterThan(Date.now() - 500);
    relay.setFailureRules([]);
    await waitFor(
      'delivery after the rule is gone',
      () => captured(relay!, 'later@example.test').length === 1,
    );
  });

  it('fails pending recipients with 4.4.7 when the lifetime is over', async () => {
    relay = await startTestRelay({
      mode: 'capture',
      fail: ['stuck@example.test=451 4.4.1 No answer from host'],
      retryInitial: '100ms',
      retryMax: '100ms',
      lifetime: '600ms',
    });
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: relay.port, ignoreTLS: true });
    await transport.sendMail({
      from: 'sender@example.test',
      to: 'stuck@example.test',
      subject: 'expires',
      text: 'y',
    });
    transport.close();
    const ndrFile = await waitFor('the NDR', () => captured(relay!, 'sender@example.test')[0]);
    const ndr = await simpleParser(fs.readFileSync(ndrFile), { keepDeliveryStatus: true });
    const status = ndr.attachments
      .find((a) => a.contentType === 'message/delivery-status')!
      .content.toString();
    expect(status).toContain('Status: 4.4.7');
    expect(status.replace(/\r\n[ \t]+/g, ' ')).toMatch(
      /Diagnostic-Code: smtp; message expired: .*last error: 451 4\.4\.1 No answer from host/,
    );
  });

  it('sends no NDR to the null sender, nor for NOTIFY=NEVER; NOTIFY=SUCCESS gets a delivery report', async () => {
    relay = await startTestRelay({ mode: 'capture', fail: ['*@bounce.test=550 5.1.1 User unknown'] });
    const { SmtpSession } = await import('./helpers/smtp-session.js');
    const s = await SmtpSession.connect(relay.port);
    await s.reply();
    await s.cmd('EHLO client.test');
    for (const [from, rcpt] of [
      ['<>', '<a@bounce.test>'],
      ['<never@example.test>', '<b@bounce.test> NOTIFY=NEVER'],
      ['<wants-success@example.test>', '<c@example.test> NOTIFY=SUCCESS,FAILURE'],
    ] as const) {
      await s.cmd(`MAIL FROM:${from}`);
      expect(await s.cmd(`RCPT TO:${rcpt}`)).toMatch(/^250/);
      await s.cmd('DATA');
      expect(await s.cmd('Subject: dsn\r\n\r\nbody\r\n.')).toMatch(/^250/);
    }
    s.close();
    const report = await waitFor(
      'the success report',
      () => captured(relay!, 'wants-success@example.test')[0],
    );
    const parsed = await simpleParser(fs.readFileSync(report), { keepDeliveryStatus: true });
    expect(parsed.subject).toBe('Delivered: dsn');
    const status = parsed.attachments
      .find((a) => a.contentType === 'message/delivery-status')!
      .content.toString();
    expect(status).toContain('Action: delivered');
    expect(status).toContain('Status: 2.0.0');
    // a local delivery has no SMTP reply to quote (issue 14 item 15)
    expect(status).not.toContain('Diagnostic-Code');
    await waitFor('all three finished', async () => (await relay!.spool.list('in')).length === 0);
    await relay.delivery!.idle();
    expect(captured(relay, 'never@example.test')).toEqual([]);
    expect(capturedMailboxes(relay.config.spool).map((m) => m.mailbox)).toEqual([
      'c@example.test',
      'wants-success@example.test',
    ]);
  });
});
