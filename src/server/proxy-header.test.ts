import { describe, expect, it } from 'vitest';
import { parseProxyHeader } from './proxy-header.js';

const v2 = (command: number, family: number, body: number[]) =>
  Buffer.from([
    0x0d,
    0x0a,
    0x0d,
    0x0a,
    0x00,
    0x0d,
    0x0a,
    0x51,
    0x55,
    0x49,
    0x54,
    0x0a,
    0x20 | command,
    family,
    body.length >> 8,
    body.length & 0xff,
    ...body,
  ]);

describe('PROXY protocol header', () => {
  it('reads version 1 lines, TCP4, TCP6 and UNKNOWN, leaving what follows', () => {
    const line = 'PROXY TCP4 192.0.2.7 198.51.100.1 40123 25\r\n';
    expect(parseProxyHeader(Buffer.from(line + 'EHLO x\r\n'))).toEqual({
      kind: 'header',
      version: 1,
      length: line.length,
      source: { address: '192.0.2.7', port: 40123 },
    });
    expect(parseProxyHeader(Buffer.from('PROXY TCP6 2001:db8::7 2001:db8::1 5000 25\r\n'))).toMatchObject({
      source: { address: '2001:db8::7', port: 5000 },
    });
    expect(parseProxyHeader(Buffer.from('PROXY UNKNOWN\r\n'))).toEqual({
      kind: 'header',
      version: 1,
      length: 15,
    });
  });

  it('waits for a header still arriving, refuses what is not one', () => {
    expect(parseProxyHeader(Buffer.from('PROX'))).toEqual({ kind: 'incomplete' });
    expect(parseProxyHeader(Buffer.from('PROXY TCP4 192.0.2.7'))).toEqual({ kind: 'incomplete' });
    expect(parseProxyHeader(Buffer.from([0x0d, 0x0a, 0x0d]))).toEqual({ kind: 'incomplete' });
    for (const bad of [
      'EHLO client\r\n',
      'PROXY TCP4 192.0.2.7 198.51.100.1 40123\r\n',
      'PROXY TCP4 2001:db8::7 198.51.100.1 1 25\r\n',
      'PROXY TCP4 client.example 198.51.100.1 1 25\r\n',
      'PROXY TCP4 192.0.2.7 198.51.100.1 70000 25\r\n',
      'PROXY TCP5 192.0.2.7 198.51.100.1 1 25\r\n',
      'PROXY TCP4 192.0.2.7 198.51.100.1 1 25\r\n'.replace('\r\n', ' '.repeat(80)),
    ])
      expect(parseProxyHeader(Buffer.from(bad)), bad).toMatchObject({ kind: 'invalid' });
  });

  it('reads version 2: PROXY over TCP4 and TCP6, LOCAL (health checks) with no address', () => {
    const tcp4 = v2(1, 0x11, [127, 0, 0, 2, 127, 0, 0, 1, 0x9c, 0x40, 0, 25]);
    expect(parseProxyHeader(Buffer.concat([tcp4, Buffer.from('QUIT\r\n')]))).toEqual({
      kind: 'header',
      version: 2,
      length: 28,
      source: { address: '127.0.0.2', port: 40000 },
    });
    const six = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7];
    expect(parseProxyHeader(v2(1, 0x21, [...six, ...six, 0, 80, 0, 25]))).toMatchObject({
      source: { address: '2001:db8::7', port: 80 },
    });
    expect(parseProxyHeader(v2(0, 0x00, []))).toEqual({ kind: 'header', version: 2, length: 16 });
    expect(parseProxyHeader(v2(1, 0x11, [127, 0, 0, 2]))).toMatchObject({ kind: 'invalid' });
    expect(parseProxyHeader(v2(1, 0x11, [127, 0, 0, 2]).subarray(0, 18))).toEqual({ kind: 'incomplete' });
    const wrongVersion = v2(1, 0x11, []);
    wrongVersion[12] = 0x11;
    expect(parseProxyHeader(wrongVersion)).toMatchObject({ kind: 'invalid' });
  });
});
