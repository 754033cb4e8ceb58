import nodemailer from 'nodemailer';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { ImsRelayContainer, type StartedImsRelayContainer } from 'ims-relay/testcontainers';

let relay: StartedImsRelayContainer;
beforeAll(async () => {
  relay = await new ImsRelayContainer(process.env.IMS_RELAY_IMAGE ?? 'ims-relay:test')
    .withMaxRecipients(3)
    .start();
});
afterAll(() => relay.stop());

test('the welcome mail reaches the new user, through a relay in a container', async () => {
  await nodemailer
    .createTransport(relay.getSmtpOptions())
    .sendMail({ from: 'app@example.test', to: 'new.user@example.test', subject: 'Welcome', text: 'Hello!' });
  const mail = await relay.api.waitForMail({ to: 'new.user@example.test' });
  expect(mail.subject).toBe('Welcome');
});
