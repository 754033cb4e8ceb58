/**
 * The web page in a real browser: Debian's chromium driven by playwright-core, against a relay
 * started by the test API. Every test also asserts that the page logged no error.
 * UI_SCREENSHOTS=docs/ui saves a screenshot of each view (the ones in docs/).
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import nodemailer, { type SendMailOptions } from 'nodemailer';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startRelay, type TestRelay } from '../src/test-api.js';
import { hasChromium, launchBrowser, screenshot, watchErrors, type OpenBrowser } from './helpers/browser.js';

let browser: OpenBrowser | undefined;
let relay: TestRelay | undefined;
let page: Page | undefined;
let errors: string[] = [];

beforeAll(async () => {
  if (hasChromium) browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
});
afterEach(async () => {
  await page?.close();
  page = undefined;
  await relay?.stop();
  relay = undefined;
  expect(errors).toEqual([]);
  errors = [];
});

async function open(r: TestRelay, path = '/'): Promise<Page> {
  page = await browser!.context.newPage();
  errors = watchErrors(page);
  // a step that waits longer fails and names itself, well inside the test's own time
  page.setDefaultTimeout(30_000);
  await page.goto(`http://127.0.0.1:${r.httpPort}${path}`);
  return page;
}

function send(r: TestRelay, mail: SendMailOptions) {
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port: r.smtpPort, secure: false });
  return transport.sendMail(mail).finally(() => transport.close());
}

/** Sends `total` pipelined RCPT in one transaction with a raw socket, then the message; resolves at QUIT. */
async function bulkTransaction(port: number, total: number): Promise<void> {
  const socket = net.connect(port, '127.0.0.1');
  let received = '';
  const replies = () => received.split('\r\n').filter((l) => /^\d{3} /.test(l)).length;
  const waitReplies = (n: number) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (replies() >= n) {
          socket.off('data', check);
          resolve();
        }
      };
      socket.on('data', check);
      socket.once('error', reject);
      check();
    });
  socket.setEncoding('latin1');
  socket.on('data', (d: string) => (received += d));
  await waitReplies(1);
  const lines = ['EHLO bulk.test', 'MAIL FROM:<bulk@example.test>'];
  for (let i = 1; i <= total; i++) lines.push(`RCPT TO:<u${i}@example.test>`);
  lines.push('DATA');
  socket.write(lines.join('\r\n') + '\r\n');
  await waitReplies(total + 4);
  socket.write('Subject: to many\r\n\r\nhello\r\n.\r\nQUIT\r\n');
  await waitReplies(total + 6);
  socket.destroy();
}

// 60 s a test (the 40,000-recipient one: 180 s): opening the first tab of a run (which also loads
// the admin API, fastify, on its first request) took 5–11 s on a loaded machine; 30 s was tight
describe.skipIf(!hasChromium)('web page (chromium)', { timeout: 60_000 }, () => {
  it('asks for the admin token, keeps it in the tab, and opens with it', async () => {
    relay = await startRelay({ adminToken: 'sesame-1234' });
    const p = await open(relay);
    await p.getByLabel('Admin token').fill('wrong');
    await p.getByRole('button', { name: 'Open' }).click();
    await p.getByText('That token was not accepted.').waitFor();
    await p.getByLabel('Admin token').fill('sesame-1234');
    await p.keyboard.press('Enter');
    await p.getByRole('navigation', { name: 'views' }).waitFor();
    expect(await p.evaluate("sessionStorage.getItem('ims-relay.admin-token')")).toBe('sesame-1234');
    await p.getByText('● live').waitFor();
    // a reload keeps the session; logging out forgets the token
    await p.reload();
    await p.getByRole('link', { name: 'Queue' }).click();
    await p.getByRole('navigation', { name: 'spool folders' }).waitFor();
    await p.getByRole('button', { name: 'Log out' }).click();
    await p.getByLabel('Admin token').waitFor();
    expect(await p.evaluate("sessionStorage.getItem('ims-relay.admin-token')")).toBeNull();
  });

  it('mail: appears live after a nodemailer send; open, HTML, attachment download, search, delete', async () => {
    relay = await startRelay();
    const p = await open(relay);
    await p.getByText('No mail yet.').waitFor();
    await p.getByText('● live').waitFor();
    await send(relay, {
      from: 'Shop <shop@example.test>',
      to: 'alice@example.test',
      subject: 'Your order',
      text: 'Thank you for your order.',
      html: '<h1 style="color:#1f5f8b">Thank you</h1><p>Your order <b>4711</b> ships today.</p>',
      attachments: [
        { filename: 'invoice.csv', content: 'item,price\nbook,12.50\n', contentType: 'text/csv' },
      ],
    });
    // no reload: the list follows the event stream
    const row = p.getByRole('link', { name: /Your order/ });
    await row.waitFor();
    await row.click();
    await p.getByRole('heading', { name: 'Your order' }).waitFor();
    const frame = p.frameLocator('iframe[title="message HTML"]');
    await frame.getByText('ships today').waitFor();
    expect(await p.locator('iframe[title="message HTML"]').getAttribute('sandbox')).toBe('');
    await screenshot(p, 'mail');
    const [download] = await Promise.all([
      p.waitForEvent('download'),
      p.getByRole('button', { name: /invoice\.csv/ }).click(),
    ]);
    expect(download.suggestedFilename()).toBe('invoice.csv');
    expect(fs.readFileSync((await download.path())!, 'utf8')).toBe('item,price\nbook,12.50\n');
    await p.getByRole('tab', { name: 'Text' }).click();
    await p.getByText('Thank you for your order.').waitFor();
    await p.getByRole('tab', { name: 'Headers' }).click();
    await p.getByRole('rowheader', { name: 'Subject' }).waitFor();

    await send(relay, {
      from: 'bank@example.test',
      to: 'bob@example.test',
      subject: 'Statement',
      text: 'pineapple',
    });
    await p.getByRole('link', { name: /Statement/ }).waitFor();
    await p.getByRole('searchbox').fill('pineapple');
    await p.keyboard.press('Enter');
    await p.getByText('1 message (filtered)').waitFor();
    expect(await p.locator('a.row').count()).toBe(1);
    await p.getByRole('link', { name: /Statement/ }).click();
    await p.getByRole('button', { name: 'Delete', exact: true }).click();
    await p.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
    await p.getByText('0 messages (filtered)').waitFor();
    const list = async () =>
      (await (await fetch(`http://127.0.0.1:${relay!.httpPort}/api/v1/mail`)).json()) as {
        total: number;
        messages: { subject: string }[];
      };
    expect((await list()).messages.map((m) => m.subject)).toEqual(['Your order']);
    // delete all, after a confirmation
    await p.goto(`http://127.0.0.1:${relay.httpPort}/#/mail`);
    await p.getByRole('button', { name: 'Delete all' }).click();
    await p.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
    await p.getByText('No mail yet.').waitFor();
    expect((await list()).total).toBe(0);
  });

  it('reports: the NDR of a 40,000-recipient pickup message shows 32,766 rows paged and the 3041 line', async () => {
    relay = await startRelay({ fail: ['*@fail.test=550 5.1.1 User unknown'] });
    const receivers = Array.from({ length: 40_000 }, (_, i) => `X-Receiver: <user${i}@fail.test>\r\n`).join(
      '',
    );
    const file = path.join(relay.spoolDir, 'pickup', 'bulk.eml');
    fs.writeFileSync(
      file + '.part',
      `X-Sender: sender@example.test\r\n${receivers}Subject: to everyone\r\nFrom: sender@example.test\r\n\r\nHello all.\r\n`,
    );
    fs.renameSync(file + '.part', file);
    const p = await open(relay, '/#/reports');
    const row = p.locator('a.row', { hasText: 'report' });
    await row.waitFor({ timeout: 120_000 });
    await row.click();
    await p.getByRole('heading', { name: 'Non-delivery report' }).waitFor();
    await p.getByText('Original subject').waitFor();
    expect(await p.locator('dl.envelope').last().innerText()).toMatch(
      /to everyone[\s\S]*sender@example\.test/,
    );
    const pager = p.getByRole('navigation', { name: 'report pages' });
    await pager.getByText('1–100 of 32,766 (page 1 of 328)').waitFor();
    expect(await p.locator('table.grid tbody tr').count()).toBe(100);
    expect(await p.locator('table.grid tbody tr').first().innerText()).toMatch(
      /^1\s+user0@fail\.test\s+failed\s+5\.1\.1\s+smtp; 550 5\.1\.1 User unknown$/,
    );
    const note = p.getByRole('note');
    expect(await note.innerText()).toMatch(
      /^7,234 further recipients could not be delivered and are not listed in this report: the total number of recipients exceeds 32766\. Event 3041$/,
    );
    await screenshot(p, 'reports');
    await pager.getByRole('button', { name: 'last page' }).click();
    await pager.getByText('32,701–32,766 of 32,766 (page 328 of 328)').waitFor();
    expect(await p.locator('table.grid tbody tr').count()).toBe(66);
    expect(await p.locator('table.grid tbody tr').last().innerText()).toMatch(
      /^32,766\s+user32765@fail\.test\s+failed/,
    );
    await note.getByRole('link', { name: 'Event 3041' }).click();
    await p.waitForURL(/#\/events\?id=3041/);
    await p.getByRole('cell', { name: /The total number of recipients exceeds 32766/ }).waitFor();
  }, 180_000);

  it('reports: a report links to the message it reports on by queue ID (X-Ims-Relay-Queue-ID)', async () => {
    relay = await startRelay({ fail: ['*@fail.test=550 5.1.1 User unknown'] });
    const info = await send(relay, {
      from: 'app@example.test',
      to: ['ok@example.test', 'gone@fail.test'],
      subject: 'half delivered',
      text: 'one of two',
    });
    const queueId = /queued as (\S+)/.exec(info.response)![1]!;
    const p = await open(relay, '/#/reports');
    await p.locator('a.row', { hasText: 'half delivered' }).click();
    await p.getByRole('heading', { name: 'Non-delivery report' }).waitFor();
    const original = p.locator('dl.envelope').last();
    await original.getByText(queueId).waitFor();
    // the report's own queue ID is another one: the link comes from the field in the report
    const report = (await (
      await fetch(`http://127.0.0.1:${relay.httpPort}/api/v1/mail?report=true`)
    ).json()) as { messages: { queueId: string; reportedQueueId: string }[] };
    expect(report.messages).toEqual([expect.objectContaining({ reportedQueueId: queueId })]);
    expect(report.messages[0]!.queueId).not.toBe(queueId);
    await original.getByRole('link', { name: 'original message' }).click();
    await p.getByRole('heading', { name: 'half delivered', exact: true }).waitFor();
    expect(await p.locator('dl.envelope').first().innerText()).toContain('ok@example.test');
    // from the original, the reports about it (the list filtered by its queue ID)
    await p.getByRole('link', { name: 'reports about it' }).click();
    await p.waitForURL(/#\/reports\?queueId=/);
    await p.getByText('1 report (filtered)').waitFor();
    await p.getByRole('list', { name: 'filters in force' }).getByText(queueId).waitFor();
    // the Events view: the queue ID links to the entry, and to the mail with that queue ID
    await p.goto(`http://127.0.0.1:${relay.httpPort}/#/events?queueId=${queueId}`);
    const accepted = p.locator('tr', { has: p.getByRole('cell', { name: '1100', exact: true }) });
    await accepted.waitFor();
    expect(await accepted.getByRole('link', { name: queueId }).getAttribute('href')).toBe(
      `#/queue/${queueId}`,
    );
    await accepted.getByRole('link', { name: 'mail', exact: true }).click();
    await p.waitForURL(new RegExp(`#/mail\\?queueId=${queueId}$`));
    await p.getByText('2 messages (filtered)').waitFor();
    expect(await p.locator('a.row .subject').allInnerTexts()).toEqual([
      expect.stringMatching(/^report\s*Undeliverable: half delivered$/),
      'half delivered',
    ]);
  });

  it('mail: the tag filter (X-Ims-Relay-Tag) narrows the list; a tag on a message links to its list', async () => {
    relay = await startRelay();
    await send(relay, {
      from: 'a@example.test',
      to: 'x@example.test',
      subject: 'signup mail',
      text: 'welcome',
      headers: { 'X-Ims-Relay-Tag': 'signup, run-7' },
    });
    await send(relay, { from: 'a@example.test', to: 'y@example.test', subject: 'untagged mail', text: 'hi' });
    const p = await open(relay);
    await p.getByRole('link', { name: /untagged mail/ }).waitFor();
    await p.getByRole('button', { name: 'Filters' }).click();
    await p.getByLabel('Tag', { exact: true }).fill('run-7');
    await p.getByLabel('Tag', { exact: true }).press('Enter');
    await p.waitForURL(/#\/mail\?tag=run-7$/);
    await p.getByText('1 message (filtered)').waitFor();
    expect(await p.locator('a.row .subject').allInnerTexts()).toEqual(['signup mail']);
    const chips = p.getByRole('list', { name: 'filters in force' });
    expect(await chips.innerText()).toMatch(/^tag: run-7\s*×$/);
    // a tag no message has: none
    await p.getByLabel('Tag', { exact: true }).fill('nothing-has-this');
    await p.getByRole('button', { name: 'Apply' }).click();
    await p.getByText('0 messages (filtered)').waitFor();
    // dropping the filter shows all again; a message's tag links to the list of that tag
    await chips.getByRole('button', { name: 'remove the tag filter' }).click();
    await p.getByText('2 messages').waitFor();
    await p.getByRole('link', { name: /signup mail/ }).click();
    await p.locator('dl.envelope').getByRole('link', { name: 'signup' }).click();
    await p.waitForURL(/#\/mail\?tag=signup$/);
    await p.getByText('1 message (filtered)').waitFor();
    await screenshot(p, 'mail-tag-filter');
  });

  it('queue: lists in/ with counts, holds and releases an entry', async () => {
    relay = await startRelay({ mode: 'hold' });
    const info = await send(relay, {
      from: 'app@example.test',
      to: ['a@example.test', 'b@example.test'],
      subject: 'queued one',
      text: 'stays in in/',
    });
    const queueId = /queued as (\S+)/.exec(info.response)![1]!;
    const p = await open(relay, '/#/queue');
    await p.getByRole('link', { name: /in\/ 1/ }).waitFor();
    await p.getByRole('link', { name: queueId }).click();
    await p.getByText('queued one').waitFor();
    await screenshot(p, 'queue');
    await p.getByRole('button', { name: 'Hold' }).click();
    await p.getByRole('button', { name: 'Release' }).waitFor();
    const api = async () =>
      (await (await fetch(`http://127.0.0.1:${relay!.httpPort}/api/v1/messages/${queueId}`)).json()) as {
        item: { held: boolean };
      };
    expect((await api()).item.held).toBe(true);
    await p.locator('h2 .badge.held').waitFor();
    await p.getByRole('button', { name: 'Release' }).click();
    await p.getByRole('button', { name: 'Hold' }).waitFor();
    expect((await api()).item.held).toBe(false);
    // delete asks first; Cancel keeps the entry
    await p.getByRole('button', { name: 'Delete' }).click();
    await p.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();
    expect((await api()).item.held).toBe(false);
  });

  it('events: a new event appears live, with its IMS ID, and the filter by ID works', async () => {
    relay = await startRelay({ mode: 'hold' });
    const p = await open(relay, '/#/events');
    await p.getByText('● live').waitFor();
    await p.getByRole('cell', { name: 'The relay has started and accepts mail.' }).waitFor();
    const info = await send(relay, {
      from: 'a@example.test',
      to: 'b@example.test',
      subject: 'x',
      text: 'y',
    });
    const queueId = /queued as (\S+)/.exec(info.response)![1]!;
    const row = p.locator('tr', { hasText: queueId });
    await row.getByRole('cell', { name: '1100', exact: true }).waitFor();
    await screenshot(p, 'events');
    await p.getByLabel('Event ID').fill('1000');
    await p.getByLabel('Event ID').press('Enter');
    await p.waitForURL(/id=1000/);
    // the URL changes first; the filtered list follows it (until then the old rows are shown)
    await expect.poll(() => p.locator('tbody tr').count(), { timeout: 15_000 }).toBe(1);
    await p.getByRole('cell', { name: '1000', exact: true }).waitFor();
    // the queue ID links to the entry
    await p.getByLabel('Event ID').fill('');
    await p.getByLabel('Event ID').press('Enter');
    await p.getByRole('link', { name: queueId }).first().click();
    await p.waitForURL(new RegExp(`#/queue/${queueId}`));
  });

  it('events: after a gap in the event stream the view reads the log again, so the gap loses nothing', async () => {
    relay = await startRelay({ mode: 'hold' });
    // the browser reaches the admin API through a proxy that can cut its connections
    const sockets = new Set<net.Socket>();
    const proxy = net.createServer((client) => {
      const upstream = net.connect(relay!.httpPort, '127.0.0.1');
      client.pipe(upstream).pipe(client);
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.on('error', () => undefined);
        s.on('close', () => sockets.delete(s));
      }
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const port = (proxy.address() as net.AddressInfo).port;
    try {
      page = await browser!.context.newPage();
      errors = watchErrors(page);
      const p = page;
      await p.goto(`http://127.0.0.1:${port}/#/events`);
      await p.getByText('● live').waitFor();
      await p.getByRole('cell', { name: 'The relay has started and accepts mail.' }).waitFor();
      for (const s of sockets) s.destroy();
      await p.getByText('○ reconnecting').waitFor();
      // accepted while the page has no stream: event 1100 is never sent to it
      const info = await send(relay, {
        from: 'a@example.test',
        to: 'b@example.test',
        subject: 'gap',
        text: 'y',
      });
      const queueId = /queued as (\S+)/.exec(info.response)![1]!;
      await p.getByText('● live').waitFor();
      const row = p.locator('tr', { hasText: queueId });
      await row.getByRole('cell', { name: '1100', exact: true }).waitFor();
      // the cut stream is the one failed request (chromium reports it twice), and it was retried
      expect(errors).toEqual([
        expect.stringMatching(
          /^request failed: .*\/api\/v1\/events\/stream net::ERR_INCOMPLETE_CHUNKED_ENCODING$/,
        ),
        expect.stringMatching(/^console: .*ERR_INCOMPLETE_CHUNKED_ENCODING .*\/api\/v1\/events\/stream$/),
      ]);
      errors.length = 0;
    } finally {
      await page?.close();
      page = undefined;
      proxy.close();
    }
  });

  it('SMTP sessions: a transcript shows the 32,766 accepted and the folded 452 run', async () => {
    relay = await startRelay();
    await bulkTransaction(relay.smtpPort, 33_766);
    const p = await open(relay, '/#/sessions');
    await p.getByText('RCPT 32,766 accepted, 1,000 refused').click();
    const fold = p.locator('li.fold');
    await fold.first().waitFor();
    expect(await fold.allInnerTexts()).toEqual([
      expect.stringMatching(
        /^C: RCPT × 32,766 \(RCPT TO:<u1@example\.test> … RCPT TO:<u32766@example\.test>\)\nS: → 250 OK - Recipient <…>$/,
      ),
      expect.stringMatching(
        /^C: RCPT × 1,000 \(RCPT TO:<u32767@example\.test> … RCPT TO:<u33766@example\.test>\)\nS: → 452 Requested action not taken: Exceed Recipient Limit$/,
      ),
    ]);
    await p.getByText(/S: 250 OK: queued as/).waitFor();
    await screenshot(p, 'sessions');
    // the captured message: its recipients, count first, then 100 a page
    await p.getByRole('link', { name: 'Mail', exact: true }).click();
    await p.getByRole('link', { name: /to many/ }).click();
    await p.getByRole('tab', { name: 'Recipients (32,766)' }).click();
    await p.getByText('32,766 recipients').waitFor();
    const pager = p.getByRole('navigation', { name: 'recipient pages' });
    await pager.getByText('1–100 of 32,766 (page 1 of 328)').waitFor();
    await pager.getByRole('button', { name: 'last page' }).click();
    await pager.getByText('32,701–32,766 of 32,766 (page 328 of 328)').waitFor();
    expect(await p.locator('ol.recipients li').last().innerText()).toBe('u32766@example.test');
    expect(await p.locator('ol.recipients li').count()).toBe(66);
  });

  it('rules & settings: the API validates a rule, a good one is saved and in force; settings and counters show', async () => {
    relay = await startRelay({ mode: 'hold' });
    const p = await open(relay, '/#/settings');
    await p.getByRole('cell', { name: '--max-recipients' }).waitFor();
    await p.locator('.counter', { hasText: 'Messages accepted' }).waitFor();
    await p.getByLabel('Failure rules').fill('no equals sign');
    await p.getByRole('button', { name: 'Save rules' }).click();
    await p.getByRole('alert').waitFor();
    expect(await p.getByRole('alert').innerText()).toMatch(/no equals sign/);
    // the API's 400 is what the page shows; chromium logs it, and that entry is the only one expected
    expect(errors).toEqual([expect.stringMatching(/status of 400 .*\/api\/v1\/failure-rules$/)]);
    errors.length = 0;
    await p.getByLabel('Failure rules').fill('*@bounce.test=550 5.1.1 User unknown');
    await p.getByRole('button', { name: 'Save rules' }).click();
    await p.getByText('Saved: 1 rule in force.').waitFor();
    const rules = (await (await fetch(`http://127.0.0.1:${relay.httpPort}/api/v1/failure-rules`)).json()) as {
      rules: string[];
    };
    expect(rules.rules).toEqual(['*@bounce.test=550 5.1.1 User unknown']);
    await screenshot(p, 'settings');
  });

  it('works by keyboard and on a narrow window', async () => {
    relay = await startRelay({ mode: 'hold' });
    const p = await open(relay, '/#/events');
    await p.getByText('● live').waitFor();
    await p.keyboard.press('q');
    await p.waitForURL(/#\/queue/);
    await p.keyboard.press('s');
    await p.waitForURL(/#\/sessions/);
    await p.setViewportSize({ width: 420, height: 800 });
    const nav = p.getByRole('navigation', { name: 'views' });
    expect(await nav.isVisible()).toBe(false);
    await p.getByRole('button', { name: 'views' }).click();
    expect(await nav.isVisible()).toBe(true);
    await nav.getByRole('link', { name: 'Rules & settings' }).focus();
    await p.keyboard.press('Enter');
    await p.waitForURL(/#\/settings/);
    expect(await nav.isVisible()).toBe(false);
    // nothing wider than the window
    expect(await p.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(420);
    await screenshot(p, 'narrow');
    await p.setViewportSize({ width: 1280, height: 800 });
  });
});
