import { describe, expect, it } from 'vitest';
import type { Envelope } from '../message/envelope.js';
import { deliveryStatusText, statusOf } from './delivery-status.js';

const envelope: Envelope = {
  version: 1,
  queueId: 'Q1',
  arrivedAt: 'not a date',
  sender: 'alice@example.org',
  recipients: [
    { address: 'bob@example.com' },
    { address: 'carol@example.com', orcpt: 'rfc822;carol@example.com' },
  ],
  dsn: { envid: 'id with\r\nbreak' },
  bodyType: '7bit',
  smtpUtf8: false,
  source: 'smtp',
};

describe('deliveryStatusText', () => {
  it('falls back to the generic status of the action when the status is malformed', () => {
    expect(statusOf({ index: 0, action: 'failed', status: '550' })).toBe('5.0.0');
    expect(statusOf({ index: 0, action: 'delayed', status: '' })).toBe('4.0.0');
    expect(statusOf({ index: 0, action: 'relayed', status: 'ok' })).toBe('2.0.0');
    expect(statusOf({ index: 0, action: 'failed', status: ' 5.7.1 ' })).toBe('5.7.1');
  });

  it('writes the per-message fields and one group per recipient, ending in CRLF', () => {
    const text = deliveryStatusText(
      envelope,
      [
        { index: 1, action: 'delayed', status: '4.4.1', willRetryUntil: new Date('2024-01-05T00:00:00Z') },
        { index: 0, action: 'failed', status: '5.1.1', willRetryUntil: new Date('2024-01-05T00:00:00Z') },
      ],
      'relay.example.net',
    );
    expect(text).toBe(
      [
        'Reporting-MTA: dns; relay.example.net',
        'Original-Envelope-Id: id with break',
        'X-Ims-Relay-Queue-ID: Q1',
        '',
        'Original-Recipient: rfc822;carol@example.com',
        'Final-Recipient: rfc822; carol@example.com',
        'Action: delayed',
        'Status: 4.4.1',
        'Will-Retry-Until: Fri, 05 Jan 2024 00:00:00 +0000',
        '',
        'Final-Recipient: rfc822; bob@example.com',
        'Action: failed',
        'Status: 5.1.1',
        '',
      ].join('\r\n'),
    );
  });

  it('omits an invalid Last-Attempt-Date rather than writing "Invalid Date"', () => {
    const text = deliveryStatusText(
      envelope,
      [{ index: 0, action: 'failed', status: '5.1.1', lastAttemptAt: new Date(NaN) }],
      'h',
    );
    expect(text).not.toContain('Last-Attempt-Date');
    expect(text).not.toContain('Invalid');
  });
});

describe('Diagnostic-Code (issue 14 item 15)', () => {
  const single: Envelope = { ...envelope, dsn: {}, recipients: [{ address: 'bob@example.com' }] };
  it('is left out of a success report for a local delivery, which has no SMTP reply', () => {
    const text = deliveryStatusText(
      single,
      [
        {
          index: 0,
          action: 'delivered',
          status: '2.0.0',
          diagnostic: 'delivered to Maildir bob@example.com',
        },
      ],
      'relay.example.net',
    );
    expect(text).toContain('Action: delivered\r\nStatus: 2.0.0\r\n');
    expect(text).not.toContain('Diagnostic-Code');
  });

  it('quotes the SMTP reply of a relayed or delivered recipient, and of a failure', () => {
    const text = deliveryStatusText(
      single,
      [
        { index: 0, action: 'delivered', status: '2.0.0', diagnostic: '250 2.0.0 Ok: queued as 4F1' },
        { index: 0, action: 'failed', status: '5.1.1', diagnostic: '550 5.1.1 User unknown' },
      ],
      'relay.example.net',
    );
    expect(text).toContain('Diagnostic-Code: smtp; 250 2.0.0 Ok: queued as 4F1');
    expect(text).toContain('Diagnostic-Code: smtp; 550 5.1.1 User unknown');
  });
});
