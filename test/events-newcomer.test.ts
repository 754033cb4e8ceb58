/**
 * Issue 14 item 9: event texts keep what they are about — 3039/1200/1000 the upstream's HOST:PORT,
 * 3041 the configured --ndr-max-recipients instead of a fixed 32766.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from './helpers/postfix-instance.js';
import { SmtpSession } from './helpers/smtp-session.js';
import { startTestRelay, type TestRelay } from './helpers/test-relay.js';
import { waitFor } from './helpers/wait-for.js';

let relay: TestRelay | undefined;
afterEach(async () => {
  await relay?.stop();
  relay = undefined;
});

describe('event texts', () => {
  it('3039 and 1000 name the upstream with its port', async () => {
    const port = await freePort(); // nothing listens there
    relay = await startTestRelay({ mode: 'relay', upstream: `smtp://127.0.0.1:${port}`, retryInitial: '1h' });
    const s = await SmtpSession.ready(relay.port);
    expect(await s.submit('<a@example.test>', ['<x@example.test>'], 'Subject: down\r\n\r\nx')).toMatch(
      /^250/,
    );
    s.close();
    const down = await waitFor('event 3039', () => relay!.eventsSeen().find((e) => e.id === 3039));
    expect(down.message).toBe(
      `The next hop could not be reached; delivery will be retried. Upstream 127.0.0.1:${port} cannot be reached.`,
    );
    expect(down.data).toEqual({ upstream: `127.0.0.1:${port}` });
    const events = fs
      .readFileSync(relay.config.events, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    expect(events.find((e) => e.id === 1000).data.upstream).toBe(`127.0.0.1:${port}`);
  });

  it('3041 says the configured report limit', async () => {
    relay = await startTestRelay({
      mode: 'capture',
      fail: ['*@fail.test=550 5.1.1 User unknown'],
      ndrMaxRecipients: '2',
      pickupInterval: '50ms',
    });
    const receivers = [1, 2, 3, 4, 5].map((i) => `X-Receiver: <user${i}@fail.test>\r\n`).join('');
    const file = path.join(relay.spool.folder('pickup'), 'five.eml');
    fs.writeFileSync(
      file + '.part',
      `X-Sender: <sender@example.test>\r\n${receivers}Subject: five\r\n\r\nHi.\r\n`,
    );
    fs.renameSync(file + '.part', file);
    const capped = await waitFor('event 3041', () => relay!.eventsSeen().find((e) => e.id === 3041));
    expect(capped.message).toMatch(
      /^Unable to deliver mail to all recipients\. The total number of recipients exceeds 2\. 5 recipients failed; 2 are listed in 1 report\(s\), 3 are not\.$/,
    );
    expect(capped.data).toMatchObject({ limit: 2, failed: 5, omitted: 3 });
  });
});
