import net from 'node:net';
import { SMTPServer } from 'smtp-server';
import { SMTPConnection } from 'smtp-server/lib/smtp-connection.js';
import { afterAll, describe, expect, it } from 'vitest';
import { ImsConnection, plainRecipient } from './ims-connection.js';

const server = new SMTPServer({ logger: false, authOptional: true });
const socket = new net.Socket();
const connection = new ImsConnection(
  server,
  socket,
  {},
  { profile: 'ims', hostname: 'relay.test', greetingDelayMs: 0, maxClients: 10, maxRecipientOvershoot: 0 },
  { capSummary: () => undefined, overshoot: () => undefined },
);
afterAll(() => socket.destroy());

/** smtp-server's own parse of an RCPT line, without the connection's shortcuts. */
const libraryParse = (line: string) =>
  SMTPConnection.prototype._parseAddressCommand.call(connection, 'rcpt to', Buffer.from(line, 'latin1'));
const relayParse = (line: string) => connection._parseAddressCommand('rcpt to', Buffer.from(line, 'latin1'));

/** A small deterministic generator (mulberry32), so a failure can be reproduced. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const pick = <T>(next: () => number, list: readonly T[]): T => list[Math.floor(next() * list.length)]!;

describe('the plain RCPT path', () => {
  it('takes ordinary addresses as smtp-server parses them', () => {
    for (const line of [
      'RCPT TO:<user1@example.test>',
      'rcpt to:<First.Last+tag@Sub.Example-Host.test>',
      "RCPT TO:<a!#$%&'*+/=?^_`{|}~-b@x9.y-z.test>",
      'RCPT TO:<u@localhost>',
    ]) {
      const address = plainRecipient(line);
      expect(address, line).toBeDefined();
      expect(libraryParse(line), line).toEqual({ address, args: false });
      expect(relayParse(line), line).toEqual({ address, args: false });
    }
  });

  it('leaves every other form to smtp-server: parameters, punycode, IP literals, routes, odd dots, long paths', () => {
    const others = [
      'RCPT TO:<user@example.test> NOTIFY=NEVER',
      'RCPT TO:<user@xn--bcher-kva.test>',
      'RCPT TO:<user@[127.0.0.1]>',
      'RCPT TO:<@relay.test:user@example.test>',
      'RCPT TO:<.user@example.test>',
      'RCPT TO:<us..er@example.test>',
      'RCPT TO:<user@example..test>',
      'RCPT TO:<user@-example.test>',
      'RCPT TO:<"a b"@example.test>',
      'RCPT TO: <user@example.test>',
      'RCPT TO:<postmaster>',
      'RCPT TO:<user@example.test',
      `RCPT TO:<${'a'.repeat(240)}@${'b'.repeat(12)}.test>`,
    ];
    for (const line of others) expect(plainRecipient(line), line).toBeUndefined();
    // what smtp-server makes of some of them: not the line's path as it stands
    expect(libraryParse('RCPT TO:<user@xn--bcher-kva.test>')).toEqual({
      address: 'user@bücher.test',
      args: false,
    });
    expect(libraryParse('RCPT TO:<.user@example.test>')).toBe(false);
    expect(libraryParse(others.at(-1)!)).toBe(false);
  });

  it('agrees with smtp-server on 40,000 generated lines wherever it takes the line', () => {
    const next = random(15);
    // mostly what a plain path is made of, with some of everything that makes one not plain
    const plainLocal = ['a', 'Z', '7', '.', '-', '+', '_', '!', '/', '=', '%'];
    const oddLocal = ['..', '"', ' ', '\\', '\u00e9', '@', '<', ':'];
    const plainHost = ['x', 'Y', '9', '-', '.', 'test'];
    const oddHost = ['--', 'xn--', '[', ']', '_', ':', '..', '\u00fc'];
    const localParts = [...plainLocal, ...plainLocal, ...plainLocal, ...oddLocal];
    const hostParts = [...plainHost, ...plainHost, ...plainHost, ...oddHost];
    const prefixes = [
      'RCPT TO:<',
      'RCPT TO:<',
      'rcpt to:<',
      'Rcpt To:<',
      'RCPT TO: <',
      'RCPT  TO:<',
      'RCPT TO:<@r.test:',
    ];
    const suffixes = ['>', '>', '>', '>', '>', '> NOTIFY=NEVER', '>x', ' >'];
    let taken = 0;
    for (let i = 0; i < 40_000; i++) {
      const local = Array.from({ length: 1 + Math.floor(next() * 6) }, () => pick(next, localParts)).join('');
      const host = Array.from({ length: 1 + Math.floor(next() * 6) }, () => pick(next, hostParts)).join('');
      const line = `${pick(next, prefixes)}${local}@${host}${pick(next, suffixes)}`;
      const address = plainRecipient(line);
      if (address === undefined) continue;
      taken++;
      expect(libraryParse(line), line).toEqual({ address, args: false });
    }
    // the generator reaches both sides: enough lines taken, and most not
    expect(taken).toBeGreaterThan(500);
    expect(taken).toBeLessThan(10_000);
  });
});
