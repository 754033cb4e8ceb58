// `npm run test:container`: ImsRelayContainer against a real container engine (Docker, or podman's
// Docker API). Needs DOCKER_HOST (or a local Docker) and the image: `docker build -t ims-relay:test .`
// (IMS_RELAY_IMAGE names another). Not part of `npm test`: building the image takes minutes.
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendAll } from '../../src/client/index.js';
import { ImsRelayContainer, type StartedImsRelayContainer } from '../../src/testcontainers/index.js';

const image = process.env.IMS_RELAY_IMAGE ?? 'ims-relay:test';
let relay: StartedImsRelayContainer;

beforeAll(async () => {
  relay = await new ImsRelayContainer(image)
    .withMaxRecipients(3)
    .withSmtpRules(['rcpt:*@nouser.test=550 5.1.1 User unknown'])
    .start();
}, 120_000);

afterAll(async () => {
  await relay?.stop();
});

describe('ImsRelayContainer', () => {
  it('publishes SMTP and the HTTP API on loopback ports, with the settings given', async () => {
    expect(relay.getSmtpHost()).toBe(process.env.TESTCONTAINERS_HOST_OVERRIDE ?? relay.getHost());
    expect(relay.getSmtpPort()).toBeGreaterThan(0);
    const transport = nodemailer.createTransport(relay.getSmtpOptions());
    const to = ['a', 'b', 'c', 'd'].map((n) => `${n}@example.test`);
    const info = await transport.sendMail({
      from: 'sender@example.test',
      to: ['x@nouser.test', ...to],
      subject: 'cap',
      text: 'x',
    });
    transport.close();
    expect(info.accepted).toEqual(to.slice(0, 3));
    expect(
      (info as { rejectedErrors?: { response: string }[] }).rejectedErrors?.map((e) => e.response),
    ).toEqual(['550 5.1.1 User unknown', '452 Requested action not taken: Exceed Recipient Limit']);
    const mail = await relay.api.waitForMail({ to: 'a@example.test', subject: 'cap' });
    expect(mail.subject).toBe('cap');
    expect(mail.recipientCount).toBe(3);
  });

  it('sendAll gets every recipient through the cap of 3; the API lists, waits for and deletes mail', async () => {
    const to = Array.from({ length: 10 }, (_, i) => `user${i + 1}@example.test`);
    const result = await sendAll(relay.getSmtpOptions(), {
      from: 'sender@example.test',
      to,
      subject: 'all',
      text: 'y',
    });
    expect(result.accepted).toEqual(to);
    expect(result.learnedLimit).toBe(3);
    expect(result.transactions).toHaveLength(4);
    await relay.api.waitForMail({ to: 'user10@example.test', subject: 'all' });
    const listed = await relay.api.listMail({ subject: 'all' });
    expect(listed.total).toBe(4);
    expect(new Set(listed.messages.map((m) => m.queueId))).toEqual(
      new Set(result.transactions.map((t) => t.queueId)),
    );
    expect(await relay.api.deleteMail({ subject: 'all' })).toBe(4);
    expect((await relay.api.listMail({ subject: 'all' })).total).toBe(0);
  });

  it('takes new SMTP-stage rules over the API (with its token)', async () => {
    await relay.api.setSmtpRules(['data=421 4.3.2 Closing for the test']);
    const transport = nodemailer.createTransport(relay.getSmtpOptions());
    const err = await transport
      .sendMail({ from: 'sender@example.test', to: 'a@example.test', text: 'z' })
      .then(
        () => undefined,
        (e: { response?: string }) => e,
      );
    transport.close();
    expect(err?.response).toBe('421 4.3.2 Closing for the test');
    const unauthorised = await fetch(`${relay.getHttpUrl()}/api/v1/mail`);
    expect(unauthorised.status).toBe(401);
  });
});
