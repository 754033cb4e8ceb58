/**
 * The admin API against a hostile web page (issue 12, section 3): the exact requests of the black-
 * box campaign — a DNS-rebinding Host, a cross-site text/plain POST — on a real listener, and the
 * requests a page served by the listener itself makes, which must keep working.
 */
import http from 'node:http';
import nodemailer from 'nodemailer';
import { afterEach, describe, expect, it } from 'vitest';
import { startRelay, type TestRelay } from '../src/test-api.js';

let relay: TestRelay | undefined;
afterEach(async () => {
  await relay?.stop();
  relay = undefined;
});

/** One raw HTTP request with exactly these headers (fetch would not let us set Host). */
function request(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function queueOne(r: TestRelay): Promise<string> {
  const info = await nodemailer
    .createTransport({ host: '127.0.0.1', port: r.smtpPort, ignoreTLS: true })
    .sendMail({ from: 'a@example.test', to: 'b@example.test', subject: 'secret', text: 'captured mail' });
  return info.response.split(' ').pop()!;
}

const held = async (r: TestRelay, id: string) => {
  const res = await request(r.httpPort, 'GET', `/api/v1/messages/${id}`, { host: `127.0.0.1:${r.httpPort}` });
  return (JSON.parse(res.body) as { item: { held: boolean } }).item.held;
};

describe('admin API request guard', () => {
  it('refuses a DNS-rebinding Host and answers the names it is reached by', async () => {
    relay = await startRelay({ mode: 'hold', adminHosts: ['relay.internal'] });
    const id = await queueOne(relay);
    const port = relay.httpPort;
    const raw = `/api/v1/messages/${id}/raw`;

    const rebound = await request(port, 'GET', raw, { host: `attacker.example:${port}` });
    expect(rebound.status).toBe(421);
    expect(rebound.body).not.toContain('captured mail');
    expect((await request(port, 'GET', raw, { host: 'attacker.example' })).status).toBe(421);
    expect((await request(port, 'GET', raw, { host: 'localhost.attacker.example' })).status).toBe(421);
    expect((await request(port, 'GET', '/healthz', { host: 'attacker.example' })).status).toBe(421);

    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, 'relay.internal:80']) {
      const ok = await request(port, 'GET', raw, { host });
      expect([host, ok.status]).toEqual([host, 200]);
      expect(ok.body).toContain('captured mail');
    }
  });

  it('refuses cross-site and non-JSON writes; same-origin and bodiless ones pass', async () => {
    relay = await startRelay({ mode: 'hold' });
    const id = await queueOne(relay);
    const port = relay.httpPort;
    const host = `127.0.0.1:${port}`;
    const hold = `/api/v1/messages/${id}/hold`;

    // the campaign's request: a page at attacker.example posting text/plain (no CORS preflight)
    const csrf = await request(
      port,
      'POST',
      hold,
      { host, origin: 'http://attacker.example', 'content-type': 'text/plain' },
      'x',
    );
    expect(csrf.status).toBe(403);
    expect(await held(relay, id)).toBe(false);

    const refused: [Record<string, string>, string | undefined, number][] = [
      [{ origin: 'http://attacker.example' }, undefined, 403],
      [{ origin: 'null' }, undefined, 403],
      [{ origin: `http://127.0.0.1:${port + 1}` }, undefined, 403],
      [{ 'sec-fetch-site': 'cross-site' }, undefined, 403],
      [{ 'sec-fetch-site': 'same-site' }, undefined, 403],
      [{ 'content-type': 'text/plain' }, 'x', 415],
      [{ 'content-type': 'application/x-www-form-urlencoded' }, 'a=b', 415],
      [{ 'content-type': 'multipart/form-data; boundary=x' }, '--x--', 415],
      [{ 'content-type': 'text/plain' }, undefined, 415],
    ];
    for (const [headers, body, status] of refused) {
      const res = await request(port, 'POST', hold, { host, ...headers }, body);
      expect([headers, res.status]).toEqual([headers, status]);
    }
    const put = await request(
      port,
      'PUT',
      '/api/v1/failure-rules',
      { host, origin: 'http://attacker.example', 'content-type': 'text/plain' },
      JSON.stringify({ rules: ['*@x.test=550 5.1.1 no'] }),
    );
    expect(put.status).toBe(403);
    expect(JSON.parse((await request(port, 'GET', '/api/v1/failure-rules', { host })).body)).toEqual({
      rules: [],
    });
    expect(await held(relay, id)).toBe(false);

    // a page served by the admin listener itself: same origin
    const page = await request(port, 'POST', hold, {
      host,
      origin: `http://${host}`,
      'sec-fetch-site': 'same-origin',
    });
    expect(page.status).toBe(200);
    expect(await held(relay, id)).toBe(true);
    // the CLI and curl: no Origin, no body, no content type
    expect((await request(port, 'POST', `/api/v1/messages/${id}/release`, { host })).status).toBe(200);
    expect(await held(relay, id)).toBe(false);
    const json = await request(
      port,
      'PUT',
      '/api/v1/failure-rules',
      { host: `localhost:${port}`, origin: `http://localhost:${port}`, 'content-type': 'application/json' },
      JSON.stringify({ rules: ['*@x.test=550 5.1.1 no'] }),
    );
    expect(json.status).toBe(200);
  });
});

describe('admin API request guard with a token', () => {
  it('takes any Host (the token protects the API) but still refuses cross-site writes', async () => {
    relay = await startRelay({ mode: 'hold', adminToken: 'sekrit' });
    const id = await queueOne(relay);
    const port = relay.httpPort;
    const auth = { authorization: 'Bearer sekrit' };
    expect(
      (await request(port, 'GET', `/api/v1/messages/${id}`, { host: 'docker:8025', ...auth })).status,
    ).toBe(200);
    expect((await request(port, 'GET', `/api/v1/messages/${id}`, { host: 'attacker.example' })).status).toBe(
      401,
    );
    const csrf = await request(
      port,
      'POST',
      `/api/v1/messages/${id}/hold`,
      { host: 'docker:8025', origin: 'http://attacker.example', 'content-type': 'text/plain', ...auth },
      'x',
    );
    expect(csrf.status).toBe(403);
  });
});
