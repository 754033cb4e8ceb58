import nodemailer from 'nodemailer';
import { afterEach, describe, expect, it } from 'vitest';
import { resolveConfig } from '../src/config/relay-config.js';
import { startRelay, type TestRelay } from '../src/test-api.js';
import { waitFor } from './helpers/wait-for.js';

let relay: TestRelay | undefined;
afterEach(async () => {
  await relay?.stop();
  relay = undefined;
});

const api = (r: TestRelay, path: string, init: RequestInit = {}) =>
  fetch(`http://127.0.0.1:${r.httpPort}${path}`, init);

async function send(r: TestRelay, to: string[], subject = 'admin') {
  const info = await nodemailer
    .createTransport({ host: '127.0.0.1', port: r.smtpPort, ignoreTLS: true })
    .sendMail({
      envelope: { from: 'app@example.test', to },
      from: 'app@example.test',
      to: to.join(', '),
      subject,
      text: 'body text',
    });
  return info.response.split(' ').pop()!;
}

describe('admin API', () => {
  it('lists, shows, holds, releases and deletes messages', async () => {
    relay = await startRelay({ mode: 'hold' });
    const id = await send(relay, ['a@example.test', 'b@example.test'], 'look at me');
    const list = (await (await api(relay, '/api/v1/messages?folder=in')).json()) as {
      total: number;
      items: { queueId: string; recipients: number }[];
    };
    expect(list.total).toBe(1);
    expect(list.items[0]).toMatchObject({ queueId: id, recipients: 2 });

    const detail = (await (await api(relay, `/api/v1/messages/${id}`)).json()) as {
      parsed: { subject: string; text: string };
      recipients: { state: string }[];
    };
    expect(detail.parsed.subject).toBe('look at me');
    expect(detail.parsed.text.trim()).toBe('body text');
    expect(detail.recipients.map((r) => r.state)).toEqual(['pending', 'pending']);

    const raw = await api(relay, `/api/v1/messages/${id}/raw`);
    expect(raw.headers.get('content-type')).toBe('message/rfc822');
    expect(await raw.text()).toMatch(/^Received: from /);

    expect(
      (
        (await (await api(relay, `/api/v1/messages/${id}/hold`, { method: 'POST' })).json()) as {
          message: string;
        }
      ).message,
    ).toContain('is held');
    expect(
      (
        (await (await api(relay, `/api/v1/messages/${id}/release`, { method: 'POST' })).json()) as {
          message: string;
        }
      ).message,
    ).toContain('is released');
    const replayQueued = await api(relay, `/api/v1/messages/${id}/replay`, { method: 'POST' });
    expect(replayQueued.status).toBe(409);
    expect((await api(relay, `/api/v1/messages/${id}`, { method: 'DELETE' })).status).toBe(200);
    expect((await api(relay, `/api/v1/messages/${id}`)).status).toBe(404);
    expect((await api(relay, '/api/v1/messages/not-an-id')).status).toBe(400);
    expect((await api(relay, '/api/v1/messages?folder=nope')).status).toBe(400);
  });

  it('serves events, a server-sent-events stream, mailboxes, failure rules, metrics and health', async () => {
    relay = await startRelay({ maxRecipients: 1 });
    const stream = await api(relay, '/api/v1/events/stream?id=1100');
    const reader = stream.body!.getReader();
    const id = await send(relay, ['x@example.test', 'y@example.test']);

    let text = '';
    while (!text.includes('"id":1100')) text += new TextDecoder().decode((await reader.read()).value);
    expect(text).toContain('event: 1100');
    expect(text).toContain(`"queueId":"${id}"`);
    await reader.cancel();

    // events reach the events file in batches, about 10 ms after the stream sees them
    const events = await waitFor('event 2100 in the events file', async () => {
      const got = (await (await api(relay!, '/api/v1/events?id=2100')).json()) as {
        events: { queueId: string; data: { refused: number } }[];
      };
      return got.events.length > 0 ? got : undefined;
    });
    expect(events.events).toEqual([
      expect.objectContaining({ queueId: id, data: expect.objectContaining({ refused: 1 }) }),
    ]);

    await relay.waitForMessage((m) => m.mailbox === 'x@example.test');
    const boxes = (await (await api(relay, '/api/v1/mailboxes')).json()) as {
      mailboxes: { mailbox: string; messages: number }[];
    };
    expect(boxes.mailboxes).toEqual([{ mailbox: 'x@example.test', messages: 1 }]);
    const inbox = (await (await api(relay, '/api/v1/mailboxes/X@example.test/messages')).json()) as {
      messages: { queueId: string; subject: string }[];
    };
    expect(inbox.messages[0]).toMatchObject({ queueId: id, subject: 'admin' });

    const put = await api(relay, '/api/v1/failure-rules', {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ rules: ['*@bounce.test=550 5.1.1 User unknown'] }),
    });
    expect(await put.json()).toEqual({ rules: ['*@bounce.test=550 5.1.1 User unknown'] });
    expect(await (await api(relay, '/api/v1/failure-rules')).json()).toEqual({
      rules: ['*@bounce.test=550 5.1.1 User unknown'],
    });
    const bad = await api(relay, '/api/v1/failure-rules', {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ rules: ['*@x=250 fine'] }),
    });
    expect(bad.status).toBe(400);
    await send(relay, ['gone@bounce.test']);
    await relay.waitForEvent(4117);

    const metrics = await (await api(relay, '/metrics')).text();
    expect(metrics).toMatch(/^ims_relay_messages_accepted_total 2$/m);
    expect(metrics).toMatch(/^ims_relay_smtp_refusals_total\{reason="recipient_cap"\} 1$/m);
    expect(metrics).toMatch(/^ims_relay_spool_messages\{folder="archive"\} 1$/m);
    expect(metrics).toMatch(/^ims_relay_recipient_deliveries_total\{outcome="failed"\} 1$/m);
    expect(metrics).toMatch(/^ims_relay_reports_total\{kind="failure"\} 1$/m);
    expect(metrics).toMatch(/^ims_relay_events_total\{id="4117",type="Error"\} 1$/m);

    expect(await (await api(relay, '/healthz')).json()).toEqual({ status: 'ok' });
    expect((await api(relay, '/readyz')).status).toBe(200);
    const openapi = (await (await api(relay, '/api/v1/openapi.json')).json()) as {
      paths: Record<string, unknown>;
    };
    expect(Object.keys(openapi.paths)).toContain('/api/v1/failure-rules');
  });

  it('needs the bearer token when one is set (401 without), but not for /healthz', async () => {
    relay = await startRelay({ adminToken: 's3cret' });
    expect((await api(relay, '/api/v1/messages')).status).toBe(401);
    expect(
      (await api(relay, '/api/v1/messages', { headers: { authorization: 'Bearer wrong' } })).status,
    ).toBe(401);
    expect(
      (await api(relay, '/api/v1/messages', { headers: { authorization: 'Bearer s3cret' } })).status,
    ).toBe(200);
    expect((await api(relay, '/metrics')).status).toBe(401);
    expect((await api(relay, '/healthz')).status).toBe(200);
  });

  it('reports not ready while free space is under the threshold', async () => {
    relay = await startRelay({ minFreeDisk: String(Number.MAX_SAFE_INTEGER) });
    const res = await api(relay, '/readyz');
    expect(res.status).toBe(503);
    expect(((await res.json()) as { reason: string }).reason).toContain('free space');
  });

  it('refuses to listen beyond loopback without a token', () => {
    const r = resolveConfig({ flags: { http: '0.0.0.0:8025' } });
    expect(!r.ok && r.message).toContain('needs a token');
    expect(resolveConfig({ flags: { http: '0.0.0.0:8025', adminToken: 't' } }).ok).toBe(true);
    expect(resolveConfig({ flags: { http: 'off' } }).ok && true).toBe(true);
  });
});
