/**
 * The admin API against a hostile page in a real browser (Debian's chromium, headless): a page on
 * another origin that POSTs text/plain to hold a message (what a browser sends without a CORS
 * preflight), and a DNS-rebinding page — `attacker.example` resolved to 127.0.0.1 — that reads a
 * message's raw content.
 */
import { execFile, execFileSync } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import nodemailer from 'nodemailer';
import { afterEach, describe, expect, it } from 'vitest';
import { startRelay, type TestRelay } from '../src/test-api.js';

const chromium = (() => {
  for (const name of ['chromium', 'chromium-browser']) {
    try {
      execFileSync(name, ['--version'], { stdio: 'ignore' });
      return name;
    } catch {
      // try the next name
    }
  }
  return undefined;
})();

/** Loads `url` in headless chromium with attacker.example mapped to 127.0.0.1; returns the DOM. */
function dumpDom(url: string): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(
      chromium!,
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--host-resolver-rules=MAP attacker.example 127.0.0.1',
        '--virtual-time-budget=5000',
        '--dump-dom',
        url,
      ],
      { timeout: 60_000 },
      (err, stdout) => (err ? reject(err) : resolve(stdout)),
    ),
  );
}

let relay: TestRelay | undefined;
let page: http.Server | undefined;
afterEach(async () => {
  await relay?.stop();
  relay = undefined;
  await new Promise((r) => (page ? page.close(r) : r(undefined)));
  page = undefined;
});

describe.skipIf(!chromium)('admin API and a hostile page in chromium', () => {
  it('a cross-site page cannot hold a message, a rebound name cannot read one', async () => {
    relay = await startRelay({ mode: 'hold' });
    const info = await nodemailer
      .createTransport({ host: '127.0.0.1', port: relay.smtpPort, ignoreTLS: true })
      .sendMail({ from: 'a@example.test', to: 'b@example.test', subject: 'secret', text: 'captured mail' });
    const id = info.response.split(' ').pop()!;
    const admin = `http://127.0.0.1:${relay.httpPort}`;

    // the attacker's page, on another origin
    const html = `<html><body><pre id="out">start</pre><script>
      fetch('${admin}/api/v1/messages/${id}/hold', { method: 'POST', mode: 'no-cors',
        headers: { 'content-type': 'text/plain' }, body: 'x' })
        .then((r) => (document.getElementById('out').textContent = 'sent ' + r.type))
        .catch((e) => (document.getElementById('out').textContent = 'failed ' + e));
    </script></body></html>`;
    page = http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(html));
    await new Promise<void>((r) => page!.listen(0, '127.0.0.1', r));
    const pagePort = (page.address() as AddressInfo).port;

    const dom = await dumpDom(`http://attacker.example:${pagePort}/`);
    expect(dom).toContain('sent opaque'); // the browser did send it
    const detail = (await (await fetch(`${admin}/api/v1/messages/${id}`)).json()) as {
      item: { held: boolean };
    };
    expect(detail.item.held).toBe(false);

    // DNS rebinding: the page's own name now points at the admin API
    const rebound = await dumpDom(`http://attacker.example:${relay.httpPort}/api/v1/messages/${id}/raw`);
    expect(rebound).not.toContain('captured mail');
    expect(rebound).toContain('is not a name of this admin API');
  });
});
