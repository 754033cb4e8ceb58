import { describe, expect, it } from 'vitest';
import { headerFieldValue, isDeliveryStatusReport, originalSubject } from './original-headers.js';

const block = (...lines: string[]) => Buffer.from(`${lines.join('\r\n')}\r\n\r\n`);

describe('original headers', () => {
  it('takes the Subject raw and unfolded', () => {
    const headers = block('From: a@x.test', 'Subject: first part', '\tsecond  part', 'To: b@x.test');
    expect(originalSubject(headers)).toBe('first part\tsecond  part');
    expect(originalSubject(block('subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?='))).toBe(
      '=?utf-8?q?Gr=C3=BC=C3=9Fe?=',
    );
  });

  it('decodes raw UTF-8 header bytes', () => {
    expect(originalSubject(block('Subject: Grüße aus Köln'))).toBe('Grüße aus Köln');
  });

  it('stops at the end of the header block and handles bare LF', () => {
    expect(originalSubject(Buffer.from('From: a@x.test\r\n\r\nSubject: in the body\r\n'))).toBeUndefined();
    expect(originalSubject(Buffer.from('From: a@x.test\nSubject: lf\n  only\n\n'))).toBe('lf  only');
    expect(headerFieldValue(Buffer.from('X-A: 1\r\nX-AB: 2'), 'x-ab')).toBe('2');
  });

  it('recognises a delivery status report by its Content-Type', () => {
    expect(
      isDeliveryStatusReport(
        block('Content-Type: multipart/report; report-type=delivery-status;', ' boundary="b"'),
      ),
    ).toBe(true);
    expect(
      isDeliveryStatusReport(
        block('content-type: Multipart/Report; boundary=b; report-type="delivery-status"'),
      ),
    ).toBe(true);
    expect(
      isDeliveryStatusReport(block('Content-Type: multipart/report; report-type=global-delivery-status')),
    ).toBe(true);
    expect(
      isDeliveryStatusReport(block('Content-Type: multipart/report; report-type=disposition-notification')),
    ).toBe(false);
    expect(isDeliveryStatusReport(block('Content-Type: multipart/mixed; boundary=b'))).toBe(false);
    expect(isDeliveryStatusReport(block('Subject: report-type=delivery-status'))).toBe(false);
  });
});
