import { describe, expect, it } from 'vitest';
import { allowedHostNames, guardRequest, hostAllowed, hostName } from './request-guard.js';

describe('request guard', () => {
  const allowed = allowedHostNames(['Relay.Internal.']);

  it('takes localhost, IP literals and configured names as Host, nothing else', () => {
    expect(hostName('[::1]:8025')).toBe('::1');
    expect(hostName('LocalHost.:80')).toBe('localhost');
    for (const host of [
      'localhost',
      'localhost:8025',
      '127.0.0.1:8025',
      '10.0.0.5',
      '[::1]:1',
      'relay.internal:8025',
    ])
      expect([host, hostAllowed(host, allowed)]).toEqual([host, true]);
    for (const host of [
      undefined,
      '',
      'attacker.example',
      '127.0.0.1.attacker.example',
      'localhost.attacker.example',
      '2130706433',
      '[::1',
      'a b',
      'relay.internal.evil',
    ])
      expect([host, hostAllowed(host, allowed)]).toEqual([host, false]);
  });

  it('lets reads through from any origin and writes only from the same origin', () => {
    const host = '127.0.0.1:8025';
    expect(
      guardRequest({ method: 'GET', headers: { host, origin: 'http://attacker.example' } }, allowed),
    ).toBe(undefined);
    expect(
      guardRequest({ method: 'DELETE', headers: { host, origin: 'http://127.0.0.1:8025' } }, allowed),
    ).toBe(undefined);
    expect(
      guardRequest({ method: 'DELETE', headers: { host, origin: 'https://127.0.0.1:8025' } }, allowed),
    ).toMatchObject({
      status: 403,
    });
    expect(guardRequest({ method: 'POST', headers: { host, 'sec-fetch-site': 'none' } }, allowed)).toBe(
      undefined,
    );
    expect(
      guardRequest(
        { method: 'POST', headers: { host, 'content-type': 'application/json; charset=utf-8' } },
        allowed,
      ),
    ).toBe(undefined);
    expect(
      guardRequest(
        { method: 'POST', headers: { host, 'content-type': 'application/merge-patch+json' } },
        allowed,
      ),
    ).toBe(undefined);
    expect(guardRequest({ method: 'POST', headers: { host, 'content-length': '3' } }, allowed)).toMatchObject(
      {
        status: 415,
      },
    );
    expect(guardRequest({ method: 'POST', headers: { host: 'attacker.example' } }, undefined)).toBe(
      undefined,
    );
  });
});
