/**
 * Issue 14 item 11: action routes take an empty body, with or without `content-type:
 * application/json` (curl -X POST -H 'content-type: application/json' …/retry sends none).
 */
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRelay, type TestRelay } from '../src/test-api.js';

let relay: TestRelay;
let id: string;
beforeAll(async () => {
  relay = await startRelay({ mode: 'hold' });
  const info = await nodemailer
    .createTransport({ host: '127.0.0.1', port: relay.smtpPort, ignoreTLS: true })
    .sendMail({ envelope: { from: 'app@example.test', to: ['a@example.test'] }, subject: 'x', text: 'y' });
  id = info.response.split(' ').pop()!;
});
afterAll(() => relay.stop());

const post = (route: string, init: RequestInit = {}) =>
  fetch(`http://127.0.0.1:${relay.httpPort}/api/v1/messages/${id}/${route}`, { method: 'POST', ...init });

describe('action routes', () => {
  it('accept an empty body sent as application/json', async () => {
    for (const route of ['hold', 'release', 'retry']) {
      const res = await post(route, { headers: { 'content-type': 'application/json' } });
      expect({ route, status: res.status }).toEqual({ route, status: 200 });
      expect(((await res.json()) as { ok: boolean }).ok).toBe(true);
    }
  });

  it('accept no body and no content type, and an empty JSON object', async () => {
    expect((await post('hold')).status).toBe(200);
    expect(
      (await post('release', { headers: { 'content-type': 'application/json' }, body: '{}' })).status,
    ).toBe(200);
  });

  it('still refuse a body that is not JSON, and JSON that tries to set __proto__', async () => {
    expect((await post('retry', { headers: { 'content-type': 'application/json' }, body: '{' })).status).toBe(
      400,
    );
    const poisoned = await fetch(`http://127.0.0.1:${relay.httpPort}/api/v1/failure-rules`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: '{"rules":[],"__proto__":{"x":1}}',
    });
    expect(poisoned.status).toBe(400);
  });
});
