import { simpleParser } from 'mailparser';
import nodemailer from 'nodemailer';
import { afterEach, describe, expect, it } from 'vitest';
import { ScriptedUpstream } from './helpers/scripted-upstream.js';
import { startTestRelay, type TestRelay } from './helpers/test-relay.js';
import { waitFor } from './helpers/wait-for.js';

let relay: TestRelay | undefined;
let upstream: ScriptedUpstream | undefined;
afterEach(async () => {
  await relay?.stop();
  await upstream?.stop();
  relay = undefined;
  upstream = undefined;
});

async function send(r: TestRelay, from: string, to: string[], subject = 'relayed') {
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port: r.port, ignoreTLS: true });
  const info = await transport.sendMail({
    envelope: { from, to },
    from,
    to: to.join(', '),
    subject,
    text: 'body',
  });
  transport.close();
  return info.response.split(' ').pop()!;
}

async function relayTo(u: ScriptedUpstream, flags: Record<string, string> = {}) {
  const port = await u.start();
  return startTestRelay({
    mode: 'relay',
    upstream: `smtp://127.0.0.1:${port}`,
    retryInitial: '200ms',
    retryMax: '400ms',
    ...flags,
  });
}

describe('relay mode', () => {
  it('sends the message on with its envelope and a Received: header', async () => {
    upstream = new ScriptedUpstream();
    relay = await relayTo(upstream);
    const queueId = await send(relay, 'app@example.test', ['a@example.test', 'b@example.test']);
    await waitFor('the upstream delivery', () => upstream!.received.length === 1);
    const [message] = upstream.received;
    expect(message!.from).toBe('app@example.test');
    expect(message!.to).toEqual(['a@example.test', 'b@example.test']);
    expect(message!.data).toMatch(
      new RegExp(`^Received: from .*\\r\\n\\tby relay\\.test \\(ims-relay\\) with ESMTP id ${queueId}`),
    );
    await waitFor('the queue to empty', async () => (await relay!.spool.list('in')).length === 0);
  });

  it('sends recipients the upstream answers with 452 in the next transaction at once, without an NDR', async () => {
    upstream = new ScriptedUpstream({
      rcpt: (_a, position) =>
        position > 2 ? { code: 452, message: '4.5.3 Too many recipients' } : undefined,
    });
    relay = await relayTo(upstream, { retryInitial: '1h' });
    const to = [
      'r1@example.test',
      'r2@example.test',
      'r3@example.test',
      'r4@example.test',
      'r5@example.test',
    ];
    const queueId = await send(relay, 'app@example.test', to);
    await waitFor('all five delivered', () => upstream!.delivered.length === 5);
    expect(upstream.received.map((m) => m.to)).toEqual([to.slice(0, 2), to.slice(2, 4), to.slice(4)]);
    await waitFor('the queue to empty', async () => (await relay!.spool.list('in')).length === 0);
    expect(relay.eventsSeen().some((e) => e.id === 4117)).toBe(false);
    // the event follows the removal from in/
    expect((await waitFor('event 1101', () => relay!.eventsSeen().find((e) => e.id === 1101))).queueId).toBe(
      queueId,
    );
  });

  it('keeps to --upstream-max-recipients per transaction', async () => {
    upstream = new ScriptedUpstream();
    relay = await relayTo(upstream, { upstreamMaxRecipients: '3' });
    await send(
      relay,
      'app@example.test',
      Array.from({ length: 7 }, (_, i) => `u${i}@example.test`),
    );
    await waitFor('all seven', () => upstream!.delivered.length === 7);
    expect(upstream.received.map((m) => m.to.length)).toEqual([3, 3, 1]);
  });

  it('retries a 451 later and delivers; a 550 fails the recipient and the NDR goes upstream to the sender', async () => {
    let refusals = 0;
    upstream = new ScriptedUpstream({
      rcpt: (address) => {
        if (address === 'slow@example.test' && refusals++ < 1)
          return { code: 451, message: '4.3.0 Try later' };
        if (address === 'nobody@example.test') return { code: 550, message: '5.1.1 No such user' };
        return undefined;
      },
    });
    relay = await relayTo(upstream);
    const queueId = await send(
      relay,
      'sender@example.test',
      ['slow@example.test', 'nobody@example.test'],
      'mixed',
    );
    await waitFor('the retry to deliver slow@', () => upstream!.delivered.includes('slow@example.test'));
    const ndr = await waitFor('the NDR upstream', () => upstream!.received.find((m) => m.from === ''));
    expect(ndr.to).toEqual(['sender@example.test']);
    const parsed = await simpleParser(ndr.data, { keepDeliveryStatus: true });
    const status = parsed.attachments
      .find((a) => a.contentType === 'message/delivery-status')!
      .content.toString();
    expect(status).toContain('Final-Recipient: rfc822; nobody@example.test');
    expect(status).toContain('Status: 5.1.1');
    expect(status).toContain('Remote-MTA: dns; 127.0.0.1');
    expect(status).toContain('Diagnostic-Code: smtp; 550 5.1.1 No such user');
    expect(status).not.toContain('slow@example.test');
    await waitFor('the archive', async () => (await relay!.spool.list('archive')).includes(queueId));
  });

  it('logs 3039 once while the upstream is down, keeps accepting, and delivers when it is back', async () => {
    upstream = new ScriptedUpstream();
    const port = await upstream.start();
    await upstream.stop(); // down
    relay = await startTestRelay({
      mode: 'relay',
      upstream: `smtp://127.0.0.1:${port}`,
      retryInitial: '150ms',
      retryMax: '150ms',
    });
    await send(relay, 'a@example.test', ['x@example.test']);
    await send(relay, 'a@example.test', ['y@example.test']);
    await waitFor('two attempts each', async () => {
      const ids = await relay!.spool.list('in');
      const journals = await Promise.all(ids.map((id) => relay!.spool.readJournal('in', id)));
      return journals.length === 2 && journals.every((j) => j.attempts >= 2);
    });
    expect(relay.eventsSeen().filter((e) => e.id === 3039)).toHaveLength(1);
    upstream = new ScriptedUpstream();
    await upstream.start(port);
    await waitFor('both delivered', () => upstream!.delivered.length === 2, 20_000);
    // 1200 follows the upstream's 250 (the relay reads the reply after the upstream has the message)
    await waitFor('event 1200', () => relay!.eventsSeen().some((e) => e.id === 1200));
    expect(relay.eventsSeen().filter((e) => e.id === 1200)).toHaveLength(1);
    expect(relay.eventsSeen().filter((e) => e.id === 3039)).toHaveLength(1);
  });
});

describe('relay mode: TLS and AUTH to the upstream', () => {
  it('upgrades with STARTTLS when offered, logs in with the URL credentials', async () => {
    upstream = new ScriptedUpstream({}, { starttls: true, auth: { user: 'relay', pass: 's3cr:t' } });
    const port = await upstream.start();
    relay = await startTestRelay({
      mode: 'relay',
      upstream: `smtp://relay:${encodeURIComponent('s3cr:t')}@127.0.0.1:${port}`,
      upstreamTlsVerify: 'false', // the test upstream has smtp-server's self-signed certificate
    });
    await send(relay, 'app@example.test', ['a@example.test']);
    await waitFor('the delivery', () => upstream!.received.length === 1);
    expect(upstream.sessions[0]).toEqual({ secure: true, user: 'relay' });
  });

  it('keeps the message queued when the upstream refuses the credentials', async () => {
    upstream = new ScriptedUpstream({}, { auth: { user: 'relay', pass: 'right' } });
    const port = await upstream.start();
    relay = await startTestRelay({
      mode: 'relay',
      upstream: `smtp://relay:wrong@127.0.0.1:${port}`,
      retryInitial: '1h',
    });
    const queueId = await send(relay, 'app@example.test', ['a@example.test']);
    await waitFor(
      'a deferred recipient',
      async () => (await relay!.spool.readJournal('in', queueId)).deferred.size === 1,
    );
    const journal = await relay.spool.readJournal('in', queueId);
    expect(journal.deferred.get(0)?.diagnostic).toMatch(/535|Invalid credentials|auth/i);
    expect(upstream.received).toHaveLength(0);
  });
});
