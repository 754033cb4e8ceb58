import { describe, expect, it } from 'vitest';
import { routedHosts, splitAddress } from './routed-address.js';

describe('routedHosts', () => {
  it('finds no route in an ordinary or quoted address', () => {
    expect(routedHosts('user@example.test')).toEqual([]);
    expect(routedHosts('"john doe"@example.test')).toEqual([]);
    expect(routedHosts('first.last+tag@example.test')).toEqual([]);
  });

  it('follows the percent hack from the right, bang paths from the left, and an @ in a quoted local part', () => {
    expect(routedHosts('user%b.test%c.test@local.test')).toEqual(['c.test', 'b.test']);
    expect(routedHosts('a.test!b.test!user@local.test')).toEqual(['a.test', 'b.test']);
    expect(routedHosts('a.test!user%b.test@local.test')).toEqual(['a.test', 'b.test']);
    expect(routedHosts('"user@Remote.test"@local.test')).toEqual(['remote.test']);
    expect(routedHosts('"user\\@remote.test"@local.test')).toEqual(['remote.test']);
    expect(routedHosts('"a%b.test"@local.test')).toEqual(['b.test']);
  });

  it('splits at the last @ outside quotes', () => {
    expect(splitAddress('"a@b"@c.test')).toEqual({ localPart: '"a@b"', domain: 'c.test' });
    expect(splitAddress('postmaster')).toEqual({ localPart: 'postmaster', domain: '' });
  });
});
