/**
 * Postfix as a client of ims-relay: a 40,000-recipient message relayed in (Postfix sends 10,000 per
 * transaction), all delivered once; and into a relay with --max-recipients 8000, where Postfix gets
 * 452 for 2,000 of each 10,000 and sends them in another transaction (the overshoot disconnect of
 * old made it defer all 10,000 forever).
 */
import nodemailer from 'nodemailer';
import { afterAll, describe, expect, it } from 'vitest';
import { PostfixInstance, havePostfix } from '../helpers/postfix-instance.js';
import { startTestRelay, type TestRelay } from '../helpers/test-relay.js';
import { waitFor } from '../helpers/wait-for.js';
import { addresses, defaultRelay, heldRecipients } from './peer-relay.js';

if (process.env.CI && !havePostfix)
  throw new Error('Postfix is not installed (or not root); .ci/run must install it');

const stops: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const stop of stops.reverse()) await stop();
});

describe.skipIf(!havePostfix)('Postfix relaying into ims-relay', () => {
  it('40,000 recipients arrive once each on the defaults; 10,000 arrive once each through a cap of 8,000', async () => {
    const relay = await defaultRelay();
    stops.push(() => relay.stop());
    const capped: TestRelay = await startTestRelay({ mode: 'hold', maxRecipients: '8000' });
    stops.push(() => capped.stop());
    const postfix = await PostfixInstance.start({
      relayhost: `[127.0.0.1]:${relay.port}`,
      mainCf: [
        'relay_domains = example.test, capped.test',
        `transport_maps = inline:{ capped.test=smtp:[127.0.0.1]:${capped.port} }`,
        'smtpd_recipient_limit = 50000', // so that the test can hand it the message in one go
        'smtp_destination_recipient_limit = 10000',
        'relay_destination_recipient_limit = 10000',
      ],
    });
    stops.push(() => postfix.stop());

    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: postfix.port, ignoreTLS: true });
    const everyone = addresses(40_000);
    const cappedOnes = addresses(10_000, 'capped.test');
    for (const to of [everyone, cappedOnes]) {
      const info = await transport.sendMail({
        envelope: { from: 'app@example.test', to },
        from: 'app@example.test',
        to: 'undisclosed-recipients:;',
        subject: 'through Postfix',
        text: 'hi',
      });
      expect(info.accepted).toHaveLength(to.length);
    }
    transport.close();

    const arrived = (r: TestRelay) => heldRecipients(r).flat();
    await waitFor('40,000 at ims-relay', () => arrived(relay).length >= 40_000, 180_000);
    await waitFor('10,000 at the capped ims-relay', () => arrived(capped).length >= 10_000, 180_000);
    expect(arrived(relay).sort()).toEqual([...everyone].sort());
    expect(heldRecipients(relay).map((r) => r.length)).toEqual([10_000, 10_000, 10_000, 10_000]);
    expect(arrived(capped).sort()).toEqual([...cappedOnes].sort());
    expect(Math.max(...heldRecipients(capped).map((r) => r.length))).toBe(8_000);
    expect(capped.eventsSeen().some((e) => e.id === 2100)).toBe(true);
  }, 300_000);
});
