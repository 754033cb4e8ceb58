import { describe, expect, it } from 'vitest';
import { parseSmtpStageRule, parseSmtpStageRules, type SmtpStageRule } from '../config/smtp-stage-rule.js';
import { SmtpStageRules } from './smtp-stage-rules.js';

const rule = (source: string): SmtpStageRule => {
  const parsed = parseSmtpStageRule(source);
  if (typeof parsed === 'string') throw new Error(parsed);
  return parsed;
};

describe('SMTP-stage rule syntax', () => {
  it('reads stage, matchers and action', () => {
    const r = rule('rcpt:*@nouser.test=550 5.1.1 User unknown');
    expect([r.stage, r.patterns.length, r.reply, r.delayMs, r.disconnect]).toEqual([
      'rcpt',
      1,
      { code: 550, text: '5.1.1 User unknown' },
      0,
      false,
    ]);
    expect(rule('RCPT:#3+=452 4.5.3 Too many').occurrence).toEqual({ n: 3, andLater: true });
    expect(rule('eod:#2=disconnect')).toMatchObject({
      stage: 'eod',
      occurrence: { n: 2, andLater: false },
      disconnect: true,
    });
    expect(rule('mail=delay 2s')).toMatchObject({ delayMs: 2000, disconnect: false });
    expect(rule('mail=delay 2s').reply).toBeUndefined();
    expect(rule('data=delay 500ms 421 4.3.2 Going away')).toMatchObject({
      delayMs: 500,
      reply: { code: 421, text: '4.3.2 Going away' },
    });
    expect(rule('rcpt:first-try,*@grey.test=451 4.7.1 Greylisted')).toMatchObject({ firstTry: true });
  });

  it('says what is wrong with a bad rule', () => {
    expect(parseSmtpStageRule('helo=550 x')).toMatch(/unknown stage 'helo'.*connect, mail, rcpt, data, eod/);
    expect(parseSmtpStageRule('rcpt 550')).toMatch(/expected STAGE\[:MATCHER\]=ACTION/);
    expect(parseSmtpStageRule('rcpt=250 fine')).toMatch(/4xx or 5xx/);
    expect(parseSmtpStageRule('rcpt=550 4.1.1 x')).toMatch(/status 4\.1\.1 does not match the code 550/);
    expect(parseSmtpStageRule('rcpt=delay soon')).toMatch(/duration after delay/);
    expect(parseSmtpStageRule('rcpt:#0=550 x')).toMatch(/counts from 1/);
    expect(parseSmtpStageRule('rcpt:#x=550 x')).toMatch(/#N or #N\+/);
    expect(parseSmtpStageRule('data:first-try=451 x')).toMatch(/first-try applies at mail, rcpt and eod/);
    expect(parseSmtpStageRule('rcpt=')).toMatch(/expected an action/);
    expect(parseSmtpStageRules(['rcpt=550 x', 'nope'])).toMatch(/nope/);
  });
});

describe('SMTP-stage rule decisions', () => {
  const client = { clientAddress: '127.0.0.1' };

  it('matches the address of the stage, case-insensitively; the first matching rule wins', () => {
    const rules = new SmtpStageRules([
      rule('rcpt:*@NoUser.test=550 5.1.1 User unknown'),
      rule('rcpt=451 other'),
    ]);
    expect(rules.decide('rcpt', { ...client, recipient: 'a@nouser.TEST', rcptNumber: 1 })?.reply?.code).toBe(
      550,
    );
    expect(rules.decide('rcpt', { ...client, recipient: 'a@else.test', rcptNumber: 1 })?.reply?.code).toBe(
      451,
    );
    expect(rules.decide('mail', { ...client, sender: 'a@nouser.test' })).toBeUndefined();
  });

  it('#N at rcpt is the position in the transaction; elsewhere the Nth time since the rules were set', () => {
    const rules = new SmtpStageRules([rule('rcpt:#3+=452 4.5.3 Too many'), rule('data:#2=421 4.3.2 Bye')]);
    const at = (n: number) =>
      rules.decide('rcpt', { ...client, recipient: 'x@y', rcptNumber: n })?.reply?.code;
    expect([1, 2, 3, 4, 1, 3].map(at)).toEqual([undefined, undefined, 452, 452, undefined, 452]);
    const data = () => rules.decide('data', { ...client, sender: 's@x' })?.reply?.code;
    expect([data(), data(), data()]).toEqual([undefined, 421, undefined]);
    rules.set(rules.list());
    expect([data(), data()]).toEqual([undefined, 421]);
  });

  it('first-try refuses each (client, sender, recipient) triple once: greylisting', () => {
    const applied: string[] = [];
    const rules = new SmtpStageRules([rule('rcpt:first-try=451 4.7.1 Greylisted')], (d, s) =>
      applied.push(`${d.rule.stage} ${s.recipient}`),
    );
    const rcpt = (sender: string, recipient: string, clientAddress = '127.0.0.1') =>
      rules.decide('rcpt', { clientAddress, sender, recipient, rcptNumber: 1 })?.reply?.code;
    expect(rcpt('s@x', 'a@y')).toBe(451);
    expect(rcpt('s@x', 'a@y')).toBeUndefined();
    expect(rcpt('S@X', 'A@Y')).toBeUndefined();
    expect(rcpt('t@x', 'a@y')).toBe(451);
    expect(rcpt('s@x', 'a@y', '127.0.0.2')).toBe(451);
    expect(applied).toEqual(['rcpt a@y', 'rcpt a@y', 'rcpt a@y']);
  });
});
