import { describe, expect, it } from 'vitest';
import { REPLIES, enhancedCodeFor, replyText, withEnhancedCode } from './replies.js';

describe('replies', () => {
  it('renders the IMS texts without enhanced codes and the rfc ones with them', () => {
    expect(replyText('ims', REPLIES.recipientCap)).toBe('Requested action not taken: Exceed Recipient Limit');
    expect(replyText('rfc', REPLIES.recipientCap)).toBe(
      '4.5.3 Requested action not taken: Exceed Recipient Limit',
    );
    expect(replyText('ims', REPLIES.recipientAccepted('a@b'))).toBe('OK - Recipient <a@b>');
    expect(replyText('rfc', REPLIES.insufficientStorage)).toBe('4.3.1 Insufficient system storage');
  });

  it('gives the cap 4.5.3, not the 4.2.2 smtp-server maps a 452 to', () => {
    expect(enhancedCodeFor(452, 'TOO_MANY_RECIPIENTS')).toBe('4.5.3');
    expect(enhancedCodeFor(452, undefined)).toBe('4.3.1');
  });

  it('adds no code to greetings, EHLO/HELO replies and 3xx', () => {
    expect(enhancedCodeFor(220, false)).toBe('');
    expect(enhancedCodeFor(501, 'EHLO')).toBe('');
    expect(enhancedCodeFor(354, undefined)).toBe('');
    expect(enhancedCodeFor(250, 'RCPT_TO_OK')).toBe('2.1.5');
    expect(enhancedCodeFor(599, undefined)).toBe('5.0.0');
  });

  it('never doubles an enhanced code', () => {
    expect(withEnhancedCode('4.3.1', '4.3.1 Insufficient system storage')).toBe(
      '4.3.1 Insufficient system storage',
    );
    expect(withEnhancedCode('2.0.0', ['a', 'b'])).toEqual(['2.0.0 a', '2.0.0 b']);
    expect(withEnhancedCode('', 'x')).toBe('x');
  });
});
