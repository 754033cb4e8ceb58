import { describe, expect, it } from 'vitest';
import { parseCidr } from '../config/cidr.js';
import { RelayPolicy } from './relay-policy.js';

describe('RelayPolicy', () => {
  const policy = new RelayPolicy({
    mode: 'relay',
    localDomains: ['Example.test'],
    relayNetworks: ['10.0.0.0/8', '::1/128', '192.0.2.7'],
  });

  it('lets trusted networks and authenticated clients relay anywhere', () => {
    expect(policy.allows('x@elsewhere.test', { address: '10.1.2.3', authenticated: false })).toBe(true);
    expect(policy.allows('x@elsewhere.test', { address: '::1', authenticated: false })).toBe(true);
    expect(policy.allows('x@elsewhere.test', { address: '192.0.2.7', authenticated: false })).toBe(true);
    expect(policy.allows('x@elsewhere.test', { address: '203.0.113.5', authenticated: true })).toBe(true);
  });

  it('lets anyone send to local domains, and nobody else relay', () => {
    expect(policy.allows('x@EXAMPLE.test', { address: '203.0.113.5', authenticated: false })).toBe(true);
    expect(policy.allows('x@elsewhere.test', { address: '203.0.113.5', authenticated: false })).toBe(false);
    expect(policy.allows('x@elsewhere.test', { address: '192.0.2.8', authenticated: false })).toBe(false);
  });

  it('accepts everything outside relay mode', () => {
    const capture = new RelayPolicy({ mode: 'capture', localDomains: [], relayNetworks: [] });
    expect(capture.allows('x@elsewhere.test', { address: '203.0.113.5', authenticated: false })).toBe(true);
  });

  it('explains a bad CIDR', () => {
    expect(parseCidr('10.0.0.0/33')).toContain('0 to 32');
    expect(parseCidr('ten')).toContain('not an address');
    expect(parseCidr('fd00::/8')).toEqual({ address: 'fd00::', prefix: 8, family: 'ipv6' });
  });
});

describe('RelayPolicy and sender-routed addresses', () => {
  const outsider = { address: '203.0.113.5', authenticated: false };
  const policy = new RelayPolicy({
    mode: 'relay',
    localDomains: ['local.test', 'other-local.test'],
    relayNetworks: ['10.0.0.0/8'],
  });

  it.each([
    'user%remote.example@local.test',
    'user%remote.example%local.test@local.test',
    'remote.example!user@local.test',
    'local.test!remote.example!user@local.test',
    'local.test!user%remote.example@local.test',
    '"user@remote.example"@local.test',
    '"user%remote.example"@local.test',
    '"remote.example!user"@local.test',
    '"user\\@remote.example"@local.test',
    'user%@local.test',
    'user%[192.0.2.1]@local.test',
  ])('refuses %s from an outsider', (address) => {
    expect(policy.allows(address, outsider)).toBe(false);
  });

  it.each([
    'user@local.test',
    '"john doe"@local.test',
    'user%other-local.test@local.test',
    'other-local.test!user@local.test',
    '"user@OTHER-LOCAL.test"@local.test',
  ])('accepts %s from an outsider (every host is local)', (address) => {
    expect(policy.allows(address, outsider)).toBe(true);
  });

  it('accepts routed addresses from trusted and authenticated clients, and refuses all with refuse', () => {
    expect(
      policy.allows('user%remote.example@local.test', { address: '10.0.0.1', authenticated: false }),
    ).toBe(true);
    expect(policy.allows('user%remote.example@local.test', { ...outsider, authenticated: true })).toBe(true);
    const strict = new RelayPolicy({
      mode: 'relay',
      localDomains: ['local.test', 'other-local.test'],
      relayNetworks: [],
      routedAddresses: 'refuse',
    });
    expect(strict.allows('user%other-local.test@local.test', outsider)).toBe(false);
    expect(strict.allows('user@local.test', outsider)).toBe(true);
  });
});
