/**
 * A CIDR as the settings take it (`--relay-networks`, `--proxy-protocol-from`): `10.0.0.0/8`,
 * `::1/128`, or a bare address (a /32 or /128).
 */
import net from 'node:net';

export interface Cidr {
  address: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

/** Parses `10.0.0.0/8` or `::1/128` (a bare address is a /32 or /128); a message when it is not. */
export function parseCidr(value: string): Cidr | string {
  const [address = '', prefixText] = value.trim().split('/');
  const version = net.isIP(address);
  if (version === 0) return `"${value}" is not an address or CIDR (e.g. 10.0.0.0/8, ::1/128)`;
  const max = version === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max)
    return `"${value}": the prefix length must be 0 to ${max}`;
  return { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}
