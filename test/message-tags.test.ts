import nodemailer from 'nodemailer';
import type Mail from 'nodemailer/lib/mailer/index.js';
import { afterEach, describe, expect, it } from 'vitest';
import { RelayApi } from '../src/client/index.js';
import { startRelay, type TestRelay } from '../src/index.js';

let relay: TestRelay | undefined;
afterEach(async () => {
  await relay?.stop();
  relay = undefined;
});

async function send(port: number, mail: Mail.Options) {
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port, ignoreTLS: true });
  try {
    return await transport.sendMail({ from: 'sender@example.test', text: 'x', ...mail });
  } finally {
    transport.close();
  }
}

describe('tags for parallel tests sharing one relay', () => {
  it('tags by X-Ims-Relay-Tag: and, with tagPlusAddress, by +tag; list, wait and delete filter by tag', async () => {
    relay = await startRelay({ tagPlusAddress: true });
    const api = new RelayApi(`http://127.0.0.1:${relay.httpPort}`);
    await send(relay.smtpPort, {
      to: 'a@example.test',
      subject: 'one',
      headers: { 'X-Ims-Relay-Tag': 'run-a' },
    });
    await send(relay.smtpPort, { to: 'user+run-b@example.test', subject: 'two' });
    await send(relay.smtpPort, { to: 'c@example.test', subject: 'three' });
    await send(relay.smtpPort, {
      to: 'd@example.test',
      subject: 'four',
      headers: { 'X-Ims-Relay-Tag': 'run-a, extra' },
    });
    for (const subject of ['one', 'two', 'three', 'four'])
      await relay.waitForMessage((m) => m.subject === subject);

    expect((await relay.messages({ tag: 'run-a' })).map((m) => m.subject)).toEqual(['one', 'four']);
    expect((await relay.messages({ tag: 'run-b' })).map((m) => m.subject)).toEqual(['two']);
    const listed = await api.listMail({ tag: 'extra' });
    expect(listed.messages.map((m) => [m.subject, m.tags])).toEqual([['four', ['extra', 'run-a']]]);
    expect((await api.waitForMail({ tag: 'run-b' }, '2s')).subject).toBe('two');

    // deleting by tag deletes only that test's mail
    expect(await api.deleteMail({ tag: 'run-a' })).toBe(2);
    expect((await relay.messages()).map((m) => m.subject).sort()).toEqual(['three', 'two']);
    expect(await relay.deleteMessages({ tag: 'run-b' })).toBe(1);
    expect((await relay.messages()).map((m) => m.subject)).toEqual(['three']);
  });

  it('a +tag is only a tag when asked for (tagPlusAddress is off by default)', async () => {
    relay = await startRelay();
    await send(relay.smtpPort, { to: 'user+run-b@example.test', subject: 'plus' });
    await relay.waitForMessage((m) => m.subject === 'plus');
    expect(await relay.messages({ tag: 'run-b' })).toEqual([]);
  });
});
