import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SmtpSession } from './helpers/smtp-session.js';
import { startTestRelay, type TestRelay } from './helpers/test-relay.js';

/**
 * Replies to pipelined commands leave the relay in one write (one system call, one TCP segment)
 * instead of one each. Counted on the relay's side of the connection by watching the socket's own
 * write path (net.Socket's `_writeGeneric`, which both `_write` and `_writev` go through); the
 * socket still writes for real.
 */
type WriteGeneric = (this: net.Socket, ...args: unknown[]) => unknown;
const proto = net.Socket.prototype as unknown as { _writeGeneric: WriteGeneric };
const original = proto._writeGeneric;

let relay: TestRelay;
let relayWrites = 0;

beforeAll(async () => {
  relay = await startTestRelay();
  proto._writeGeneric = function (this: net.Socket, ...args: unknown[]) {
    if (this.localPort === relay.port) relayWrites++;
    return original.apply(this, args);
  };
});
afterAll(async () => {
  proto._writeGeneric = original;
  await relay.stop();
});

describe('replies to pipelined commands', () => {
  it('RSET, MAIL, RCPT and DATA sent at once are answered in one write', async () => {
    expect(typeof original).toBe('function'); // Node's socket internals as this test knows them
    const s = await SmtpSession.ready(relay.port);
    await s.submit('<a@example.test>', ['<b@example.test>'], 'Subject: first\r\n\r\nbody');

    relayWrites = 0;
    s.write('RSET\r\nMAIL FROM:<a@example.test>\r\nRCPT TO:<c@example.test>\r\nDATA\r\n');
    const replies = [await s.reply(), await s.reply(), await s.reply(), await s.reply()];
    expect(replies).toEqual([
      '250 Flushed',
      '250 Accepted',
      '250 OK - Recipient <c@example.test>',
      '354 End data with <CR><LF>.<CR><LF>',
    ]);
    expect(relayWrites).toBe(1);

    relayWrites = 0;
    expect(await s.cmd('Subject: second\r\n\r\nbody\r\n.')).toMatch(/^250 OK: queued as /);
    expect(relayWrites).toBe(1);
    s.close();
  });

  it('keeps the order of batched replies and replies written otherwise (multi-line, 221 before the close)', async () => {
    const s = await SmtpSession.ready(relay.port);
    await s.cmd('MAIL FROM:<a@example.test>');
    relayWrites = 0;
    s.write('RCPT TO:<b@example.test>\r\nEHLO again.test\r\nMAIL FROM:<a@example.test>\r\n');
    s.write('RCPT TO:<c@example.test>\r\nRCPT TO:<d@example.test>\r\nQUIT\r\n');
    const replies = [];
    for (let i = 0; i < 6; i++) replies.push(await s.reply());
    expect(replies[0]).toBe('250 OK - Recipient <b@example.test>');
    expect(replies[1]).toMatch(/^250-relay\.test Nice to meet you/);
    expect(replies.slice(2)).toEqual([
      '250 Accepted',
      '250 OK - Recipient <c@example.test>',
      '250 OK - Recipient <d@example.test>',
      '221 Bye',
    ]);
    expect(relayWrites).toBeLessThanOrEqual(3);
    s.close();
  });
});
