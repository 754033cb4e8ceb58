import nodemailer, { type SendMailOptions } from 'nodemailer';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startRelay, type TestRelay } from 'ims-relay';

let relay: TestRelay;
beforeAll(async () => {
  relay = await startRelay({ maxRecipients: 2, fail: ['*@bounce.test=550 5.1.1 User unknown'] });
});
afterAll(() => relay.stop());

const send = (mail: SendMailOptions) =>
  nodemailer.createTransport({ host: '127.0.0.1', port: relay.smtpPort, ignoreTLS: true }).sendMail(mail);

test('the welcome mail reaches the new user', async () => {
  await send({ from: 'app@example.test', to: 'new.user@example.test', subject: 'Welcome', text: 'Hello!' });
  const mail = await relay.waitForMessage((m) => m.mailbox === 'new.user@example.test');
  expect(mail.subject).toBe('Welcome');
  expect(mail.text?.trim()).toBe('Hello!');
});

test('recipients past the limit get 452, as from an Exchange 5.5 IMS', async () => {
  const info = await send({
    envelope: { from: 'app@example.test', to: ['a@example.test', 'b@example.test', 'c@example.test'] },
    subject: 'Newsletter',
    text: 'News',
  });
  expect(info.accepted).toEqual(['a@example.test', 'b@example.test']);
  expect(info.rejected).toEqual(['c@example.test']);
  expect(await relay.waitForEvent(2100)).toMatchObject({ data: { refused: 1 } });
});

test('a bounce comes back to the sender as an NDR', async () => {
  await send({ from: 'app@example.test', to: 'gone@bounce.test', subject: 'Invoice', text: 'Pay up' });
  const ndr = await relay.waitForMessage(
    (m) => m.mailbox === 'app@example.test' && m.subject === 'Undeliverable: Invoice',
  );
  expect(ndr.text).toContain('gone@bounce.test');
  expect((await relay.waitForEvent(4117)).data).toMatchObject({ failed: 1 });
});
