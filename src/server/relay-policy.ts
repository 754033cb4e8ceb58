/**
 * No open relay: in relay mode, a recipient in a domain that is not local is accepted only from an
 * authenticated client or from an address in the relay networks; everyone else gets
 * `554 Relay access denied` (`554 5.7.1 …` in the rfc profile). In capture and hold modes the relay delivers nowhere, so it
 * accepts every recipient.
 */
import net from 'node:net';

export interface RelayPolicySettings {
  mode: 'capture' | 'relay' | 'hold';
  /** Domains delivered locally by the upstream's own rules (lower case). */
  localDomains: readonly string[];
  /** CIDRs of clients that may relay without authenticating, e.g. `127.0.0.0/8`. */
  relayNetworks: readonly string[];
}

/** Parses `10.0.0.0/8` or `::1/128` (a bare address is a /32 or /128); a message when it is not. */
export function parseCidr(
  value: string,
): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } | string {
  const [address = '', prefixText] = value.trim().split('/');
  const version = net.isIP(address);
  if (version === 0) return `"${value}" is not an address or CIDR (e.g. 10.0.0.0/8, ::1/128)`;
  const max = version === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max)
    return `"${value}": the prefix length must be 0 to ${max}`;
  return { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

export class RelayPolicy {
  private readonly networks = new net.BlockList();
  private readonly local: Set<string>;

  constructor(private readonly settings: RelayPolicySettings) {
    for (const cidr of settings.relayNetworks) {
      const parsed = parseCidr(cidr);
      if (typeof parsed !== 'string') this.networks.addSubnet(parsed.address, parsed.prefix, parsed.family);
    }
    this.local = new Set(settings.localDomains.map((d) => d.toLowerCase()));
  }

  /** Whether a client at `address` may relay without authenticating. */
  trusted(address: string): boolean {
    const family = net.isIP(address);
    if (family === 0) return false;
    return this.networks.check(address, family === 4 ? 'ipv4' : 'ipv6');
  }

  /** Whether `recipient` may be accepted from this client. */
  allows(recipient: string, client: { address: string; authenticated: boolean }): boolean {
    if (this.settings.mode !== 'relay' || client.authenticated) return true;
    const domain = recipient.slice(recipient.lastIndexOf('@') + 1).toLowerCase();
    if (this.local.has(domain)) return true;
    return this.trusted(client.address);
  }
}
