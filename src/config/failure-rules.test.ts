import { describe, expect, it } from 'vitest';
import { matchFailureRule, parseFailureRule, type FailureRule } from './failure-rules.js';

const parse = (s: string) => {
  const r = parseFailureRule(s);
  if (typeof r === 'string') throw new Error(r);
  return r;
};

describe('failure rules', () => {
  it('parses PATTERN=CODE TEXT and takes the status from the text', () => {
    const rule = parse('*@bounce.test=550 5.1.1 User unknown');
    expect(rule).toMatchObject({
      pattern: '*@bounce.test',
      code: 550,
      status: '5.1.1',
      text: '5.1.1 User unknown',
    });
    expect(parse('slow@*=451 try later')).toMatchObject({ code: 451, status: '4.0.0', text: 'try later' });
  });

  it('matches globs case-insensitively and takes the first matching rule', () => {
    const rules: FailureRule[] = [
      parse('vip@bounce.test=452 4.2.2 Mailbox full'),
      parse('*@bounce.test=550 5.1.1 User unknown'),
    ];
    expect(matchFailureRule(rules, 'VIP@Bounce.test')?.code).toBe(452);
    expect(matchFailureRule(rules, 'x@bounce.test')?.code).toBe(550);
    expect(matchFailureRule(rules, 'x@bounce.test.org')).toBeUndefined();
    expect(matchFailureRule([parse('user?@a.test=550 no')], 'user1@a.test')).toBeDefined();
    expect(matchFailureRule([parse('a.b@x.test=550 no')], 'aXb@x.test')).toBeUndefined();
  });

  it.each(['nonsense', '*@x=250 ok', '*@x=550', '=550 no', '*@x=550 4.1.1 mismatch'])(
    'explains a bad rule: %s',
    (s) => {
      if (s === '*@x=550') {
        expect(parse(s).text).toMatch(/Permanent failure/);
        return;
      }
      expect(typeof parseFailureRule(s)).toBe('string');
    },
  );
});
