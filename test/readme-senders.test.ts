import nodemailer from 'nodemailer';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startRelay, type TestRelay } from 'ims-relay';
import { sendAll } from 'ims-relay/client';

let relay: TestRelay;
beforeAll(async () => {
  relay = await startRelay({
    maxRecipients: 100,
    smtpRule: ['rcpt:*@nouser.test=550 5.1.1 User unknown'],
    acceptAnyAuth: true, // AUTH with any name: each test sends as its own
  });
});
afterAll(() => relay.stop());

const smtp = () => ({ host: '127.0.0.1', port: relay.smtpPort, ignoreTLS: true });

test('sendAll gets 250 recipients through a cap of 100 and reports the unknown one', async () => {
  const to = Array.from({ length: 250 }, (_, i) => `user${i}@example.test`);
  const result = await sendAll(smtp(), {
    from: 'app@example.test',
    bcc: [...to, 'ghost@nouser.test'],
    subject: 'Newsletter',
    text: 'News',
    headers: { 'X-Ims-Relay-Tag': 'newsletter-test' }, // this test's mail only
  });
  expect(result.accepted).toEqual(to); // each once, in 3 transactions, same Message-ID
  expect(result.learnedLimit).toBe(100);
  expect(result.rejected).toEqual([
    { recipient: 'ghost@nouser.test', code: 550, response: '550 5.1.1 User unknown' },
  ]);
  await relay.waitForMessage((m) => m.recipients.includes('user249@example.test'));
  expect(await relay.messages({ tag: 'newsletter-test' })).toHaveLength(3);
});

test('tags: tests sharing one relay send as their own AUTH name and see only their own mail', async () => {
  const sendAs = (user: string) =>
    nodemailer
      .createTransport({ ...smtp(), auth: { user, pass: 'any' } })
      .sendMail({ from: 'app@example.test', to: 'shared@example.test', subject: user, text: 'x' });
  await Promise.all([sendAs('test-a'), sendAs('test-b')]);
  await Promise.all(['test-a', 'test-b'].map((s) => relay.waitForMessage((m) => m.subject === s)));
  expect((await relay.messages({ tag: 'test-a' })).map((m) => m.subject)).toEqual(['test-a']);
  expect(await relay.deleteMessages({ tag: 'test-a' })).toBe(1); // test-b's mail stays
});

test('SMTP-stage rules: a greylisting server, as seen by nodemailer', async () => {
  relay.setSmtpRules(['rcpt:first-try=451 4.7.1 Greylisted, try again later']);
  const send = () =>
    nodemailer
      .createTransport(smtp())
      .sendMail({ from: 'app@example.test', to: 'a@example.test', text: 'x' });
  await expect(send()).rejects.toMatchObject({ responseCode: 451 });
  await expect(send()).resolves.toMatchObject({ accepted: ['a@example.test'] });
});
