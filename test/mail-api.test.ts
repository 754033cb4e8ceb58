/**
 * `/api/v1/mail` over a real relay (capture mode, real SMTP from nodemailer, the real store): list
 * and filters, detail, raw, HTML under its CSP, attachments, deletes, the long-poll wait, the
 * events on the stream, the test API's view of the same store, and the --maildir option.
 */
import fs from 'node:fs';
import path from 'node:path';
import nodemailer, { type SendMailOptions } from 'nodemailer';
import { afterEach, describe, expect, it } from 'vitest';
import { startRelay, type TestRelay } from '../src/test-api.js';
import { startTestRelay, tempDir } from './helpers/test-relay.js';

let relay: TestRelay | undefined;
afterEach(async () => {
  await relay?.stop();
  relay = undefined;
});

const api = (path: string, init?: RequestInit) => fetch(`http://127.0.0.1:${relay!.httpPort}${path}`, init);

async function send(options: SendMailOptions): Promise<string> {
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port: relay!.smtpPort, ignoreTLS: true });
  try {
    const info = await transport.sendMail(options);
    return String(info.response).split(' ').pop()!;
  } finally {
    transport.close();
  }
}

interface Summary {
  id: string;
  queueId: string;
  from: string;
  subject: string;
  date: string;
  size: number;
  recipientCount: number;
  recipients: string[];
  tags: string[];
  report: boolean;
}

describe('GET /api/v1/mail and friends', () => {
  it('lists, filters, shows, serves raw, HTML under a strict CSP and attachments, and deletes', async () => {
    relay = await startRelay();
    const q1 = await send({
      from: 'app@example.test',
      to: ['alice@example.test', 'bob@example.test'],
      subject: 'Your invoice',
      text: 'the amount is forty-two',
      html: '<p onclick="x()">Hi <b>Alice</b></p><script>alert(1)</script>',
      attachments: [
        { filename: 'invoice ü.pdf', content: Buffer.from('%PDF-1.4 fake'), contentType: 'application/pdf' },
      ],
    });
    await relay.waitForMessage((m) => m.subject === 'Your invoice');
    await send({
      from: 'shop@example.test',
      to: 'carol@example.test',
      subject: 'Welcome',
      text: 'hello carol',
    });
    await relay.waitForMessage((m) => m.subject === 'Welcome');

    const all = (await (await api('/api/v1/mail')).json()) as { total: number; messages: Summary[] };
    expect(all.total).toBe(2);
    expect(all.messages.map((m) => m.subject)).toEqual(['Welcome', 'Your invoice']); // newest first
    const invoice = all.messages[1]!;
    expect(invoice).toMatchObject({
      id: `${q1}.1`,
      queueId: q1,
      from: 'app@example.test',
      recipientCount: 2,
      recipients: ['alice@example.test', 'bob@example.test'],
      tags: [],
      report: false,
    });
    expect(Number.isNaN(Date.parse(invoice.date))).toBe(false);
    const ids = async (query: string) =>
      ((await (await api(`/api/v1/mail?${query}`)).json()) as { messages: Summary[] }).messages.map(
        (m) => m.subject,
      );
    expect(await ids('to=BOB@example.test')).toEqual(['Your invoice']);
    expect(await ids('from=shop')).toEqual(['Welcome']);
    expect(await ids('subject=INVOICE')).toEqual(['Your invoice']);
    expect(await ids('q=forty-two')).toEqual(['Your invoice']);
    expect(await ids('q=carol')).toEqual(['Welcome']);
    expect(await ids('tag=none-yet')).toEqual([]);
    expect(await ids('report=true')).toEqual([]);
    expect(await ids('since=2099-01-01T00:00:00Z')).toEqual([]);
    const page = (await (await api('/api/v1/mail?limit=1')).json()) as {
      messages: Summary[];
      nextCursor: string;
    };
    expect(await ids(`limit=1&cursor=${page.nextCursor}`)).toEqual(['Your invoice']);
    expect((await api('/api/v1/mail?limit=0')).status).toBe(400);
    expect((await api('/api/v1/mail?report=maybe')).status).toBe(400);
    expect((await api('/api/v1/mail?since=yesterday-ish')).status).toBe(400);

    const detail = (await (
      await api(`/api/v1/mail/${invoice.id}?recipientsLimit=1&recipientsOffset=1`)
    ).json()) as {
      recipients: { total: number; items: string[] };
      headers: { name: string; value: string }[];
      text: string;
      html: string;
      attachments: { n: number; filename: string; contentType: string; size: number }[];
    };
    expect(detail.recipients).toMatchObject({ total: 2, items: ['bob@example.test'] });
    expect(detail.headers.find((h) => h.name.toLowerCase() === 'subject')?.value).toBe('Your invoice');
    expect(detail.text.trim()).toBe('the amount is forty-two');
    expect(detail.html).toContain('<b>Alice</b>'); // as given
    expect(detail.attachments).toEqual([
      expect.objectContaining({ n: 0, filename: 'invoice ü.pdf', contentType: 'application/pdf', size: 13 }),
    ]);

    const raw = await api(`/api/v1/mail/${invoice.id}/raw`);
    expect(raw.headers.get('content-type')).toBe('message/rfc822');
    expect(
      (await raw.text()).startsWith(
        'Return-Path: <app@example.test>\r\nReceived: from ', // two recipients: their envelope is in the sidecar
      ),
    ).toBe(true);

    const html = await api(`/api/v1/mail/${invoice.id}/html`);
    const csp = html.headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain('sandbox');
    expect(csp).not.toContain('script-src');
    expect(html.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await html.text()).toContain('<b>Alice</b>');

    const attachment = await api(`/api/v1/mail/${invoice.id}/attachments/0`);
    expect(attachment.headers.get('content-type')).toBe('application/pdf');
    expect(attachment.headers.get('content-disposition')).toContain("filename*=UTF-8''invoice%20%C3%BC.pdf");
    expect(Buffer.from(await attachment.arrayBuffer()).toString()).toBe('%PDF-1.4 fake');
    expect((await api(`/api/v1/mail/${invoice.id}/attachments/1`)).status).toBe(404);
    expect((await api('/api/v1/mail/not-an-id')).status).toBe(404);
    expect((await api('/api/v1/mail/1A23B726A26-00000-0000.1/raw')).status).toBe(404);

    // delete one, then those matching a filter, then all
    expect(await (await api(`/api/v1/mail/${invoice.id}`, { method: 'DELETE' })).json()).toEqual({
      deleted: 1,
      id: invoice.id,
    });
    expect((await api(`/api/v1/mail/${invoice.id}`, { method: 'DELETE' })).status).toBe(404);
    expect(await (await api('/api/v1/mail?to=nobody@example.test', { method: 'DELETE' })).json()).toEqual({
      deleted: 0,
    });
    expect(await (await api('/api/v1/mail', { method: 'DELETE' })).json()).toEqual({ deleted: 1 });
    expect(await relay.messages()).toEqual([]);
    const deletions = relay.events().filter((e) => e.id === 1131);
    expect(deletions.map((e) => e.data?.deleted)).toEqual([1, 1]);
    expect(relay.events().filter((e) => e.id === 1130)).toHaveLength(2);
  });

  it('long-polls with /api/v1/mail/wait: at once for a match, on capture for a later one, 408 when none comes', async () => {
    relay = await startRelay();
    await send({ from: 'a@example.test', to: 'early@example.test', subject: 'early', text: 'x' });
    await relay.waitForMessage((m) => m.subject === 'early');
    const now = (await (await api('/api/v1/mail/wait?to=early@example.test&timeout=5s')).json()) as Summary;
    expect(now.subject).toBe('early');

    const waiting = api('/api/v1/mail/wait?subject=later&timeout=20s').then(
      (r) => r.json() as Promise<Summary>,
    );
    await new Promise((r) => setTimeout(r, 200));
    await send({ from: 'a@example.test', to: 'x@example.test', subject: 'not this one', text: 'x' });
    await send({ from: 'a@example.test', to: 'y@example.test', subject: 'later', text: 'x' });
    expect((await waiting).recipients).toEqual(['y@example.test']);

    const none = await api('/api/v1/mail/wait?to=never@example.test&timeout=300ms');
    expect(none.status).toBe(408);
    expect((await api('/api/v1/mail/wait?timeout=forever')).status).toBe(400);
  });

  it('says on the event stream when mail is captured and deleted', async () => {
    relay = await startRelay();
    const controller = new AbortController();
    const stream = await api('/api/v1/events/stream', { signal: controller.signal });
    const reader = stream.body!.getReader();
    let text = '';
    const until = async (pattern: RegExp) => {
      while (!pattern.test(text)) text += new TextDecoder().decode((await reader.read()).value);
    };
    const q = await send({ from: 'a@example.test', to: 'live@example.test', subject: 'live', text: 'x' });
    await until(/event: 1130\n/);
    expect(text).toContain(`"id":"${q}.1"`);
    await api(`/api/v1/mail/${q}.1`, { method: 'DELETE' });
    await until(/event: 1131\n/);
    controller.abort();
  });

  it('needs the admin token where one is set', async () => {
    relay = await startRelay({ adminToken: 'sesame' });
    expect((await api('/api/v1/mail')).status).toBe(401);
    expect((await api('/api/v1/mail', { headers: { authorization: 'Bearer sesame' } })).status).toBe(200);
    const openapi = (await (
      await api('/api/v1/openapi.json', { headers: { authorization: 'Bearer sesame' } })
    ).json()) as { paths: Record<string, Record<string, unknown>> };
    for (const [route, methods] of Object.entries({
      '/api/v1/mail': ['get', 'delete'],
      '/api/v1/mail/wait': ['get'],
      '/api/v1/mail/{id}': ['get', 'delete'],
      '/api/v1/mail/{id}/raw': ['get'],
      '/api/v1/mail/{id}/html': ['get'],
      '/api/v1/mail/{id}/attachments/{n}': ['get'],
    }))
      expect(Object.keys(openapi.paths[route] ?? {}).sort()).toEqual(methods.sort());
  });
});

describe('the test API on the store', () => {
  it('gives html, attachments, headers and recipients, filters, and deletes', async () => {
    relay = await startRelay();
    await send({
      from: 'a@example.test',
      to: ['one@example.test', 'two@example.test'],
      subject: 'for the test API',
      html: '<p>hi</p>',
      attachments: [{ filename: 'a.txt', content: 'abc' }],
    });
    const m = await relay.waitForMessage((x) => x.subject === 'for the test API');
    expect(m.recipients).toEqual(['one@example.test', 'two@example.test']);
    expect(m.mailbox).toBe('one@example.test');
    expect(m.sender).toBe('a@example.test');
    expect(m.html).toBe('<p>hi</p>');
    expect(m.attachments.map((a) => [a.filename, a.size])).toEqual([['a.txt', 3]]);
    expect(m.headers.find((h) => h.name === 'Subject')?.value).toBe('for the test API');
    expect(fs.existsSync(m.file)).toBe(true);
    expect(await relay.messages({ to: 'two@example.test' })).toHaveLength(1);
    expect(await relay.messages({ to: 'three@example.test' })).toHaveLength(0);
    expect(await relay.deleteMessages({ to: 'two@example.test' })).toBe(1);
    expect(await relay.messages()).toEqual([]);
  });
});

describe('--maildir DIR', () => {
  it('also writes a Maildir per recipient: LF line ends, Return-Path and Delivered-To, unique names, one linked file', async () => {
    const dir = path.join(tempDir(), 'maildirs');
    relay = await startRelay({ maildir: dir });
    const q = await send({
      from: 'a@example.test',
      to: ['m1@example.test', 'm2@example.test'],
      subject: 'md',
      text: 'x\r\ny',
    });
    await relay.waitForEvent(1101); // delivered: the store and the Maildirs
    const files = ['m1@example.test', 'm2@example.test'].map((box) => {
      const names = fs.readdirSync(path.join(dir, box, 'new'));
      expect(names).toHaveLength(1);
      for (const sub of ['tmp', 'cur'])
        expect(fs.statSync(path.join(dir, box, sub)).isDirectory()).toBe(true);
      return path.join(dir, box, 'new', names[0]!);
    });
    expect(path.basename(files[0]!)).toMatch(new RegExp(`^\\d+\\.${q}_1\\.`));
    const content = fs.readFileSync(files[0]!, 'utf8');
    expect(content).not.toContain('\r');
    expect(content.split('\n').slice(0, 3)).toEqual([
      'Return-Path: <a@example.test>',
      'Delivered-To: m1@example.test',
      'Delivered-To: m2@example.test',
    ]);
    expect(fs.statSync(files[0]!).ino).toBe(fs.statSync(files[1]!).ino);
    // the store has it too, once
    expect((await relay.messages()).map((m) => m.recipients)).toEqual([
      ['m1@example.test', 'm2@example.test'],
    ]);
  });

  it('is off by default: no mailboxes/ folder', async () => {
    relay = await startRelay();
    await send({ from: 'a@example.test', to: 'x@example.test', subject: 'plain', text: 'x' });
    await relay.waitForMessage((m) => m.subject === 'plain');
    expect(fs.existsSync(path.join(relay.spoolDir, 'mailboxes'))).toBe(false);
    expect(fs.readdirSync(path.join(relay.spoolDir, 'store', 'messages'))).toHaveLength(1);
  });
});

describe('the message view keeps a message its own trace-like header lines', () => {
  it('shows X-Original-To and Delivered-To that open a several-recipient message (the store reads the sidecar)', async () => {
    const own = await startTestRelay({ mode: 'capture' });
    try {
      // a pickup file adds no Received: line, so the message's own lines follow the store's Return-Path
      const file = [
        'X-Sender: <list-owner@example.test>',
        'X-Receiver: <a@example.test>',
        'X-Receiver: <b@example.test>',
        'X-Original-To: list@example.test',
        'Delivered-To: list@example.test',
        'Subject: from a list',
        '',
        'body',
        '',
      ].join('\r\n');
      fs.writeFileSync(path.join(own.spool.folder('pickup'), 'list.eml'), file);
      await own.scanPickup();
      const deadline = Date.now() + 10_000;
      let id: string | undefined;
      while (!id && Date.now() < deadline) {
        id = own.store.list({ subject: 'from a list' }, 1).rows[0]?.id;
        if (!id) await new Promise((r) => setTimeout(r, 50));
      }
      expect(id).toBeDefined();
      const res = await fetch(`http://127.0.0.1:${own.http!.port}/api/v1/mail/${id}`);
      const view = (await res.json()) as { headers: { name: string; value: string }[]; text: string };
      expect(view.headers.slice(0, 3)).toEqual([
        { name: 'X-Original-To', value: 'list@example.test' },
        { name: 'Delivered-To', value: 'list@example.test' },
        { name: 'Subject', value: 'from a list' },
      ]);
      expect(view.text.trim()).toBe('body');
    } finally {
      await own.stop();
    }
  });
});
