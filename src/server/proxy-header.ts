/**
 * The PROXY protocol header a TCP load balancer (HAProxy's `send-proxy`, `send-proxy-v2`) puts in
 * front of a connection to say who the client is — version 1 (one text line) and version 2
 * (binary), as specified in HAProxy's doc/proxy-protocol.txt. Pure: bytes in, a value out.
 */
import net from 'node:net';

/** Version 1's longest line (TCP6 with both addresses in full), CRLF included. */
export const V1_MAX_LENGTH = 107;
const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
/** Version 2's header is 16 bytes; what follows it (addresses, TLVs) is kept short here. */
const V2_MAX_PAYLOAD = 1024;
const V1_PREFIX = Buffer.from('PROXY ', 'latin1');

export type ProxyHeader =
  | { kind: 'incomplete' }
  | { kind: 'invalid'; reason: string }
  /**
   * A complete header of `length` bytes. `source` is the client's address, absent for a header
   * that names none (v1 `UNKNOWN`, v2 `LOCAL` such as a balancer's health check, other families):
   * the connection then stands for itself.
   */
  | { kind: 'header'; version: 1 | 2; length: number; source?: { address: string; port: number } };

function startsLike(bytes: Buffer, prefix: Buffer): boolean {
  const n = Math.min(bytes.length, prefix.length);
  return bytes.subarray(0, n).equals(prefix.subarray(0, n));
}

/** Parses the header at the start of `bytes` (what has arrived so far). */
export function parseProxyHeader(bytes: Buffer): ProxyHeader {
  if (bytes.length === 0) return { kind: 'incomplete' };
  if (startsLike(bytes, V1_PREFIX)) return parseV1(bytes);
  if (startsLike(bytes, V2_SIGNATURE)) return parseV2(bytes);
  return { kind: 'invalid', reason: 'the connection does not start with a PROXY protocol header' };
}

const PORT = /^(0|[1-9]\d{0,4})$/;

function parseV1(bytes: Buffer): ProxyHeader {
  const end = bytes.subarray(0, V1_MAX_LENGTH).indexOf('\r\n');
  if (end < 0)
    return bytes.length >= V1_MAX_LENGTH
      ? { kind: 'invalid', reason: 'PROXY line too long or not ended by CRLF' }
      : { kind: 'incomplete' };
  const length = end + 2;
  const fields = bytes.subarray(0, end).toString('latin1').split(' ');
  if (fields[1] === 'UNKNOWN') return { kind: 'header', version: 1, length };
  if (fields.length !== 6) return { kind: 'invalid', reason: 'PROXY line does not have 6 fields' };
  const [, family, source, destination, sourcePort, destinationPort] = fields as [
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  const want = family === 'TCP4' ? 4 : family === 'TCP6' ? 6 : 0;
  if (want === 0) return { kind: 'invalid', reason: `unknown PROXY protocol family ${family.slice(0, 10)}` };
  if (net.isIP(source) !== want || net.isIP(destination) !== want)
    return { kind: 'invalid', reason: `PROXY addresses are not ${family} addresses` };
  for (const port of [sourcePort, destinationPort])
    if (!PORT.test(port) || Number(port) > 65535)
      return { kind: 'invalid', reason: 'PROXY port out of range' };
  return { kind: 'header', version: 1, length, source: { address: source, port: Number(sourcePort) } };
}

function parseV2(bytes: Buffer): ProxyHeader {
  if (bytes.length < 16) return { kind: 'incomplete' };
  const version = bytes[12]! >> 4;
  const command = bytes[12]! & 0x0f;
  if (version !== 2) return { kind: 'invalid', reason: `PROXY protocol version ${version} is not 2` };
  if (command > 1) return { kind: 'invalid', reason: `unknown PROXY v2 command ${command}` };
  const payload = bytes.readUInt16BE(14);
  if (payload > V2_MAX_PAYLOAD) return { kind: 'invalid', reason: 'PROXY v2 header too long' };
  const length = 16 + payload;
  if (bytes.length < length) return { kind: 'incomplete' };
  // LOCAL: the balancer speaks for itself (health checks)
  if (command === 0) return { kind: 'header', version: 2, length };
  const family = bytes[13]! >> 4;
  const transport = bytes[13]! & 0x0f;
  const body = bytes.subarray(16, length);
  if (transport === 1 && family === 1) {
    if (body.length < 12) return { kind: 'invalid', reason: 'PROXY v2 TCP4 addresses truncated' };
    const address = [...body.subarray(0, 4)].join('.');
    return { kind: 'header', version: 2, length, source: { address, port: body.readUInt16BE(8) } };
  }
  if (transport === 1 && family === 2) {
    if (body.length < 36) return { kind: 'invalid', reason: 'PROXY v2 TCP6 addresses truncated' };
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) groups.push(body.readUInt16BE(i).toString(16));
    const address = new net.SocketAddress({ address: groups.join(':'), family: 'ipv6' }).address;
    return { kind: 'header', version: 2, length, source: { address, port: body.readUInt16BE(32) } };
  }
  // UNSPEC, UDP, unix sockets: no client address to take over
  return { kind: 'header', version: 2, length };
}
