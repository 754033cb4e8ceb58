/**
 * Guards the two places where ims-relay changes smtp-server's behaviour (src/server/ims-connection.ts):
 * if an upgrade of the library changes what they rely on, these fail instead of the relay silently
 * going back to `452 4.2.2` for the cap or to a 100 ms wait before every greeting.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { assertLibraryHooks } from '../src/server/ims-connection.js';
import { SmtpSession } from './helpers/smtp-session.js';
import { startTestRelay, type TestRelay } from './helpers/test-relay.js';

let relay: TestRelay | undefined;
afterEach(async () => {
  await relay?.stop();
  relay = undefined;
});

/** Time from connect to the complete 220 line, in ms. */
async function greetingTime(port: number): Promise<number> {
  const started = performance.now();
  const socket = net.connect(port, '127.0.0.1');
  await new Promise<void>((resolve) => {
    let seen = '';
    socket.on('data', (d) => {
      seen += d.toString();
      if (seen.includes('\r\n')) resolve();
    });
  });
  socket.destroy();
  return performance.now() - started;
}

describe('smtp-server hooks', () => {
  it('finds the SMTPConnection members it overrides', () => {
    expect(() => assertLibraryHooks()).not.toThrow();
  });

  it('greets without smtp-server’s 100 ms wait by default, and waits when configured to', async () => {
    relay = await startTestRelay();
    const fast: number[] = [];
    for (let i = 0; i < 10; i++) fast.push(await greetingTime(relay.port));
    await relay.stop();
    relay = await startTestRelay({ greetingDelayMs: '150' });
    const slow = await greetingTime(relay.port);
    // ten greetings with the library's wait would take at least 1,000 ms
    expect(fast.reduce((a, b) => a + b, 0)).toBeLessThan(500);
    expect(slow).toBeGreaterThanOrEqual(140);
  });

  it('answers a client that talks before the greeting with 421, when a delay is set', async () => {
    relay = await startTestRelay({ greetingDelayMs: '300' });
    const s = await SmtpSession.connect(relay.port);
    s.write('EHLO early.test\r\n');
    expect(await s.reply()).toBe('421 relay.test You talk too soon');
    s.close();
  });

  it('renders the cap through our table in the rfc profile (4.5.3), whatever the library maps 452 to', async () => {
    relay = await startTestRelay({ maxRecipients: '1', profile: 'rfc' });
    const s = await SmtpSession.connect(relay.port);
    await s.reply();
    await s.cmd('EHLO client.test');
    await s.cmd('MAIL FROM:<a@example.test>');
    await s.cmd('RCPT TO:<b@example.test>');
    expect(await s.cmd('RCPT TO:<c@example.test>')).toMatch(/^452 4\.5\.3 /);
    s.close();
  });
});
