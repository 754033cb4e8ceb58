/**
 * No open relay: in relay mode, a recipient in a domain that is not local is accepted only from an
 * authenticated client or from an address in the relay networks; everyone else gets
 * `554 Relay access denied` (`554 5.7.1 …` in the rfc profile). A sender-routed address
 * (`user%remote@local`, `remote!user@local`, `"user@remote"@local`) is judged by the hosts it
 * routes through, not by the domain it names (routed-address.ts). In capture and hold modes the
 * relay delivers nowhere, so it accepts every recipient.
 */
import net from 'node:net';
import { parseCidr } from '../config/cidr.js';
import { routedHosts, splitAddress } from './routed-address.js';

export interface RelayPolicySettings {
  mode: 'capture' | 'relay' | 'hold';
  /** Domains delivered locally by the upstream's own rules (lower case). */
  localDomains: readonly string[];
  /** CIDRs of clients that may relay without authenticating, e.g. `127.0.0.0/8`. */
  relayNetworks: readonly string[];
  /**
   * A sender-routed recipient from a client that may not relay: `local` = accepted when every host
   * it routes through is a local domain; `refuse` = never. Default `local`.
   */
  routedAddresses?: 'local' | 'refuse';
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
    if (this.trusted(client.address)) return true;
    if (!this.local.has(splitAddress(recipient).domain.toLowerCase())) return false;
    const hosts = routedHosts(recipient);
    if (hosts.length === 0) return true;
    return this.settings.routedAddresses !== 'refuse' && hosts.every((h) => this.local.has(h));
  }
}
