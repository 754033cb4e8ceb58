import fs from 'node:fs';
import path from 'node:path';
import nodemailer from 'nodemailer';
import { afterEach, describe, expect, it } from 'vitest';
import { sendAll } from '../src/client/index.js';
import { resolveConfig } from '../src/config/relay-config.js';
import { startRelay } from '../src/index.js';
import { SmtpSession } from './helpers/smtp-session.js';
import { startTestRelay, tempDir, type TestRelay } from './helpers/test-relay.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function relayWithRules(rules: string[], flags: Record<string, string> = {}): Promise<TestRelay> {
  const relay = await startTestRelay({ ...flags, smtpRule: rules });
  cleanups.push(() => relay.stop());
  return relay;
}

function transportTo(port: number) {
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port, ignoreTLS: true });
  cleanups.push(() => transport.close());
  return transport;
}

interface SendError extends Error {
  code?: string;
  response?: string;
  responseCode?: number;
  command?: string;
}

async function sendFails(promise: Promise<unknown>): Promise<SendError> {
  try {
    await promise;
  } catch (err) {
    return err as SendError;
  }
  throw new Error('the send succeeded');
}

const message = (to: string | string[], from = 'sender@example.test') => ({
  from,
  to,
  subject: 's',
  text: 'x',
});

describe('SMTP-stage rules, seen from nodemailer', () => {
  it('rcpt:*@nouser.test=550 5.1.1 User unknown refuses exactly those recipients with exactly that reply', async () => {
    const relay = await relayWithRules(['rcpt:*@nouser.test=550 5.1.1 User unknown']);
    const info = await transportTo(relay.port).sendMail(message(['ok@example.test', 'ghost@nouser.test']));
    expect(info.accepted).toEqual(['ok@example.test']);
    expect(info.rejected).toEqual(['ghost@nouser.test']);
    expect((info as { rejectedErrors?: SendError[] }).rejectedErrors?.map((e) => e.response)).toEqual([
      '550 5.1.1 User unknown',
    ]);
    expect(relay.entries()[0]!.envelope.recipients.map((r) => r.address)).toEqual(['ok@example.test']);

    const err = await sendFails(transportTo(relay.port).sendMail(message('ghost@nouser.test')));
    expect([err.code, err.responseCode, err.response]).toEqual(['EENVELOPE', 550, '550 5.1.1 User unknown']);

    const applied = relay.eventsSeen().filter((e) => e.id === 2150);
    expect(applied).toHaveLength(2);
    expect(applied[0]!.data).toMatchObject({
      rule: 'rcpt:*@nouser.test=550 5.1.1 User unknown',
      stage: 'rcpt',
      action: '550 5.1.1 User unknown',
      recipient: 'ghost@nouser.test',
      sender: 'sender@example.test',
      client: '127.0.0.1',
    });
  });

  it('rcpt:first-try=451 4.7.1 greylists: the first attempt fails, the retry goes through', async () => {
    const relay = await relayWithRules(['rcpt:first-try=451 4.7.1 Greylisted, try again later']);
    const first = await sendFails(transportTo(relay.port).sendMail(message('grey@example.test')));
    expect([first.code, first.responseCode, first.response]).toEqual([
      'EENVELOPE',
      451,
      '451 4.7.1 Greylisted, try again later',
    ]);
    expect(relay.entries()).toHaveLength(0);
    const again = await transportTo(relay.port).sendMail(message('grey@example.test'));
    expect(again.accepted).toEqual(['grey@example.test']);
    // another sender is a new triple
    const other = await sendFails(
      transportTo(relay.port).sendMail(message('grey@example.test', 'b@example.test')),
    );
    expect(other.responseCode).toBe(451);
    expect(relay.entries()).toHaveLength(1);
  });

  it('data=421 answers the DATA command and closes; nothing is stored', async () => {
    const relay = await relayWithRules(['data=421 4.3.2 Service shutting down']);
    const err = await sendFails(transportTo(relay.port).sendMail(message('a@example.test')));
    expect(err.responseCode).toBe(421);
    expect(err.response).toBe('421 4.3.2 Service shutting down');
    expect(relay.entries()).toEqual([]);
  });

  it('rcpt:#3+=452 refuses from the third RCPT on, and sendAll learns 2 from it', async () => {
    const relay = await relayWithRules(['rcpt:#3+=452 4.5.3 Too many recipients']);
    const to = ['a', 'b', 'c', 'd', 'e'].map((n) => `${n}@example.test`);
    const info = await transportTo(relay.port).sendMail(message(to));
    expect(info.accepted).toEqual(to.slice(0, 2));
    expect((info as { rejectedErrors?: SendError[] }).rejectedErrors?.map((e) => e.response)).toEqual(
      Array(3).fill('452 4.5.3 Too many recipients'),
    );
    const result = await sendAll(transportTo(relay.port), message(to));
    expect(result.learnedLimit).toBe(2);
    expect(result.accepted).toEqual(to);
    expect(result.transactions.map((t) => t.accepted.length)).toEqual([2, 2, 1]);
  });

  it('rcpt:#N counts the recipients accepted so far (a refused RCPT is not one); past the cap the cap answers first', async () => {
    const relay = await relayWithRules(
      ['rcpt:*@nouser.test=550 5.1.1 User unknown', 'rcpt:#3+=452 4.5.3 Too many recipients'],
      { maxRecipients: '4' },
    );
    const s = await SmtpSession.ready(relay.port);
    cleanups.push(() => s.close());
    await s.cmd('MAIL FROM:<app@example.test>');
    const replies = [];
    for (const r of ['a@example.test', 'ghost@nouser.test', 'b@example.test', 'c@example.test'])
      replies.push(await s.cmd(`RCPT TO:<${r}>`));
    // the 4th RCPT would be the 3rd recipient: the rule's 452, not the cap's (4)
    expect(replies).toEqual([
      '250 OK - Recipient <a@example.test>',
      '550 5.1.1 User unknown',
      '250 OK - Recipient <b@example.test>',
      '452 4.5.3 Too many recipients',
    ]);
    // a rule for the Nth RCPT past the cap never applies: the cap's own 452 comes first (as from an IMS)
    const capped = await relayWithRules(['rcpt:#4+=452 4.5.3 Too many recipients'], { maxRecipients: '2' });
    const t = await SmtpSession.ready(capped.port);
    cleanups.push(() => t.close());
    await t.cmd('MAIL FROM:<app@example.test>');
    const past = [];
    for (const n of [1, 2, 3, 4, 5]) past.push(await t.cmd(`RCPT TO:<u${n}@example.test>`));
    expect(past.slice(2)).toEqual(Array(3).fill('452 Requested action not taken: Exceed Recipient Limit'));
  });

  it('eod:#2=disconnect drops the connection at the second final dot; the second message is not stored', async () => {
    const relay = await relayWithRules(['eod:#2=disconnect']);
    await transportTo(relay.port).sendMail(message('one@example.test'));
    const err = await sendFails(transportTo(relay.port).sendMail(message('two@example.test')));
    expect(err.code).toBe('ECONNECTION');
    expect(err.message).toMatch(/Connection closed/);
    await transportTo(relay.port).sendMail(message('three@example.test'));
    expect(relay.entries().map((e) => e.envelope.recipients[0]!.address)).toEqual([
      'one@example.test',
      'three@example.test',
    ]);
  });

  it('eod by sender: 550 after the data, message read and not stored', async () => {
    const relay = await relayWithRules(['eod:*@spam.test=550 5.7.1 Message content rejected']);
    const err = await sendFails(
      transportTo(relay.port).sendMail(message('a@example.test', 'bulk@spam.test')),
    );
    expect([err.responseCode, err.response, err.command]).toEqual([
      550,
      '550 5.7.1 Message content rejected',
      'DATA',
    ]);
    expect(relay.entries()).toEqual([]);
    await transportTo(relay.port).sendMail(message('a@example.test'));
    expect(relay.entries()).toHaveLength(1);
  });

  it('connect=554 refuses the connection with that reply', async () => {
    const relay = await relayWithRules(['connect=554 5.7.1 No SMTP service here']);
    const err = await sendFails(transportTo(relay.port).sendMail(message('a@example.test')));
    expect(err.responseCode).toBe(554);
    expect(err.response).toBe('554 5.7.1 No SMTP service here');
  });

  it('each applied rule is marked in the session transcript, at the step it acted on (a marked RCPT is not folded into its run)', async () => {
    const relay = await relayWithRules([
      'mail:boss@example.test=delay 100ms',
      'rcpt:*@nouser.test=550 5.1.1 User unknown',
      'eod:#2=disconnect',
    ]);
    const to = ['a@example.test', 'b@example.test', 'ghost@nouser.test', 'c@example.test', 'd@example.test'];
    await transportTo(relay.port).sendMail(message(to, 'boss@example.test'));
    await sendFails(transportTo(relay.port).sendMail(message('two@example.test')));
    const ended = async () => {
      for (let i = 0; i < 100; i++) {
        const list = relay.transcripts.list().filter((t) => t.endedAt);
        if (list.length === 2) return list.reverse();
        await new Promise((r) => setTimeout(r, 20));
      }
      throw new Error('two ended transcripts did not come');
    };
    const [first, second] = await ended();
    const steps = (t: typeof first) =>
      t!.steps
        .filter((x) => x.command !== undefined)
        .map((x) => [x.command!.split(':')[0], x.count, x.replies[0]?.slice(0, 3), x.rule]);
    expect(steps(first)).toEqual([
      ['EHLO [127.0.0.1]', 1, '250', undefined],
      ['MAIL FROM', 1, '250', 'mail:boss@example.test=delay 100ms'],
      ['RCPT TO', 2, '250', undefined],
      ['RCPT TO', 1, '550', 'rcpt:*@nouser.test=550 5.1.1 User unknown'],
      ['RCPT TO', 2, '250', undefined],
      ['DATA', 1, '354', undefined],
    ]);
    // the second message's final dot closed the connection: the DATA step carries the rule
    expect(steps(second).find((x) => x[0] === 'DATA')).toEqual(['DATA', 1, '354', 'eod:#2=disconnect']);
  });

  it('mail=delay waits, then answers as usual (the event says so); MAIL rules see the sender', async () => {
    const relay = await relayWithRules([
      'mail:boss@example.test=delay 200ms',
      'mail:*@blocked.test=553 5.7.1 Sender not allowed',
    ]);
    const info = await transportTo(relay.port).sendMail(message('a@example.test', 'boss@example.test'));
    expect(info.accepted).toEqual(['a@example.test']);
    const err = await sendFails(
      transportTo(relay.port).sendMail(message('a@example.test', 'x@blocked.test')),
    );
    expect([err.responseCode, err.response, err.command]).toEqual([
      553,
      '553 5.7.1 Sender not allowed',
      'MAIL FROM',
    ]);
    expect(
      relay
        .eventsSeen()
        .filter((e) => e.id === 2150)
        .map((e) => [e.data?.action, e.data?.delayMs]),
    ).toEqual([
      ['proceed', 200],
      ['553 5.7.1 Sender not allowed', 0],
    ]);
  });
});

describe('SMTP-stage rules from each place they can be set', () => {
  it('from the config file (a list), and a bad rule stops the start with a clear message', () => {
    const dir = tempDir();
    const file = path.join(dir, 'relay.yml');
    fs.writeFileSync(
      file,
      'smtpRule:\n  - "rcpt:*@nouser.test=550 5.1.1 User unknown"\n  - "data:#2=421 4.3.2 Bye"\n',
    );
    const resolved = resolveConfig({ configFile: file });
    expect(resolved.ok && resolved.config.smtpRule.map((r) => r.source)).toEqual([
      'rcpt:*@nouser.test=550 5.1.1 User unknown',
      'data:#2=421 4.3.2 Bye',
    ]);
    fs.writeFileSync(file, 'smtpRule: "helo=550 no"\n');
    const bad = resolveConfig({ configFile: file });
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.message).toMatch(/unknown stage 'helo'/);
    const env = resolveConfig({ env: { IMS_RELAY_SMTP_RULE: 'rcpt:a@x=550 5.1.1 A\nrcpt:b@x=550 5.1.1 B' } });
    expect(env.ok && env.config.smtpRule).toHaveLength(2);
  });

  it('from the HTTP API: GET and PUT /api/v1/smtp-rules, 400 for a bad rule', async () => {
    const relay = await relayWithRules([]);
    const api = `http://127.0.0.1:${relay.http!.port}/api/v1/smtp-rules`;
    expect(await (await fetch(api)).json()).toEqual({ rules: [] });
    const put = (rules: unknown) =>
      fetch(api, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ rules }),
      });
    const bad = await put(['rcpt=250 fine']);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/4xx or 5xx/);
    const ok = await put(['rcpt:*@nouser.test=550 5.1.1 User unknown']);
    expect(await ok.json()).toEqual({ rules: ['rcpt:*@nouser.test=550 5.1.1 User unknown'] });
    const err = await sendFails(transportTo(relay.port).sendMail(message('x@nouser.test')));
    expect(err.response).toBe('550 5.1.1 User unknown');
    await put([]);
    await transportTo(relay.port).sendMail(message('x@nouser.test'));
    expect(relay.entries()).toHaveLength(1);
  });

  it('from the test API: startRelay({ smtpRule }) and setSmtpRules()', async () => {
    const relay = await startRelay({ smtpRule: ['rcpt:*@nouser.test=550 5.1.1 User unknown'] });
    cleanups.push(() => relay.stop());
    const err = await sendFails(transportTo(relay.smtpPort).sendMail(message('x@nouser.test')));
    expect(err.response).toBe('550 5.1.1 User unknown');
    relay.setSmtpRules(['data=451 4.3.0 Try later']);
    const later = await sendFails(transportTo(relay.smtpPort).sendMail(message('x@nouser.test')));
    expect(later.response).toBe('451 4.3.0 Try later');
    expect(() => relay.setSmtpRules(['nonsense'])).toThrow(/ims-relay: expected STAGE/);
    expect((await relay.waitForEvent(2150)).data?.stage).toBe('rcpt');
  });
});
