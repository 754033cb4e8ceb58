import { describe, expect, it } from 'vitest';
import { fieldText, foldedField, recipientFieldValue, utf8AddrXtext } from './dsn-field-text.js';

describe('DSN field text', () => {
  it('writes an ASCII address as rfc822 and a non-ASCII one as RFC 6533 utf-8-addr-xtext', () => {
    expect(recipientFieldValue('bob@example.com')).toBe('rfc822; bob@example.com');
    expect(recipientFieldValue('jörg@example.com')).toBe('utf-8; j\\x{F6}rg@example.com');
    expect(recipientFieldValue('用户@例子.广告')).toBe(
      'utf-8; \\x{7528}\\x{6237}@\\x{4F8B}\\x{5B50}.\\x{5E7F}\\x{544A}',
    );
  });

  it('escapes +, = and backslash in utf-8-addr-xtext', () => {
    expect(utf8AddrXtext('a+b=c\\ö@x')).toBe('a\\x{2B}b\\x{3D}c\\x{5C}\\x{F6}@x');
  });

  it('makes free text one 7-bit line', () => {
    expect(fieldText('550-5.1.1 first\r\n550 5.1.1 second\r\n')).toBe('550-5.1.1 first 550 5.1.1 second');
    expect(fieldText('Zustellung fehlgeschlagen: Empfänger')).toBe(
      'Zustellung fehlgeschlagen: Empf\\x{E4}nger',
    );
    expect(fieldText('x'.repeat(5000)).length).toBeLessThan(4100);
  });

  it('folds long fields at spaces; unfolding gives the value back', () => {
    const value = `smtp; 550 5.1.1 ${'word '.repeat(60)}end`;
    const folded = foldedField('Diagnostic-Code', value);
    const lines = folded.split('\r\n');
    expect(lines.length).toBeGreaterThan(3);
    expect(lines[0]!.startsWith('Diagnostic-Code: smtp; 550 5.1.1 word')).toBe(true);
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(78);
    for (const line of lines.slice(1)) expect(line.startsWith(' ')).toBe(true);
    expect(folded.replace(/\r\n /g, ' ')).toBe(`Diagnostic-Code: ${value}`);
    expect(foldedField('Status', '5.1.1')).toBe('Status: 5.1.1');
  });

  it('cuts a word too long for one line so that no line exceeds 998 characters', () => {
    const folded = foldedField('Diagnostic-Code', `smtp; ${'y'.repeat(2500)}`);
    const lines = folded.split('\r\n');
    expect(lines.length).toBe(4);
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(998);
    expect(folded.replace(/[^y]/g, '')).toHaveLength(2500);
  });
});
