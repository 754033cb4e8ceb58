import { describe, expect, it } from 'vitest';
import { receivedHeader } from './received-header.js';

describe('receivedHeader', () => {
  const base = {
    helo: 'client.example',
    clientAddress: '127.0.0.1',
    hostname: 'relay.test',
    protocol: 'ESMTP' as const,
    queueId: '19A8F3C2B7E-00001-9F3A',
    date: new Date(Date.UTC(2026, 10, 21, 12, 0, 0)),
  };

  it('names client, relay, protocol, queue ID and the single recipient', () => {
    expect(receivedHeader({ ...base, recipients: ['a@b.test'] })).toBe(
      'Received: from client.example ([127.0.0.1])\r\n\tby relay.test (ims-relay) with ESMTP id 19A8F3C2B7E-00001-9F3A' +
        '\r\n\tfor <a@b.test>;\r\n\tSat, 21 Nov 2026 12:00:00 +0000\r\n',
    );
  });

  it('leaves out `for` with several recipients and strips what could break the header', () => {
    const h = receivedHeader({ ...base, helo: 'evil\r\nBcc: x (y)', recipients: ['a@b', 'c@d'] });
    expect(h).not.toContain('for <');
    expect(h.split('\r\n')[0]).toBe('Received: from evilBcc:xy ([127.0.0.1])');
  });
});
