import { describe, expect, it } from 'vitest';
import type { Envelope } from '../message/envelope.js';
import { returnedContent, toCrlf } from './returned-content.js';

const envelope = (ret?: 'FULL' | 'HDRS'): Envelope => ({
  version: 1,
  queueId: 'Q1',
  arrivedAt: '2024-01-02T03:04:05.000Z',
  sender: 'alice@example.org',
  recipients: [{ address: 'bob@example.com' }],
  dsn: ret ? { ret } : {},
  bodyType: '7bit',
  smtpUtf8: false,
  source: 'smtp',
});

describe('returned content', () => {
  it('turns bare LF and bare CR into CRLF and leaves CRLF alone', () => {
    const crlf = Buffer.from('a\r\nb\r\n');
    expect(toCrlf(crlf)).toBe(crlf);
    expect(toCrlf(Buffer.from('a\nb\rc\r\nd\n')).toString()).toBe('a\r\nb\r\nc\r\nd\r\n');
    expect(toCrlf(Buffer.from('\nx')).toString()).toBe('\r\nx');
  });

  it('chooses the whole message or the headers by RET and size', () => {
    const headers = Buffer.from('Subject: s\r\n\r\n');
    const message = Buffer.concat([headers, Buffer.from('body\r\n')]);
    const original = { headers, message, size: message.length };
    expect(returnedContent(envelope(), original, 1000).contentType).toBe('message/rfc822');
    expect(returnedContent(envelope('FULL'), original, message.length).contentType).toBe('message/rfc822');
    expect(returnedContent(envelope('FULL'), original, message.length - 1).contentType).toBe(
      'text/rfc822-headers',
    );
    const hdrs = returnedContent(envelope('HDRS'), original, 1000);
    expect(hdrs.contentType).toBe('text/rfc822-headers');
    expect(hdrs.content.toString()).toBe('Subject: s\r\n');
    expect(returnedContent(envelope(), { headers, size: 1 }, 1000).contentType).toBe('text/rfc822-headers');
  });

  it('flags 8-bit content and falls back to headers for a line longer than 998', () => {
    const headers = Buffer.from('Subject: Grüße\r\n\r\n');
    const small = returnedContent(envelope(), { headers, message: headers, size: headers.length }, 1000);
    expect(small.eightBit).toBe(true);
    const longLine = Buffer.concat([headers, Buffer.from(`${'x'.repeat(999)}\r\n`)]);
    const long = returnedContent(envelope(), { headers, message: longLine, size: longLine.length }, 5000);
    expect(long.contentType).toBe('text/rfc822-headers');
    expect(long.longestLine).toBe('Subject: Grüße'.length + 2); // ü and ß are 2 bytes each
  });
});
