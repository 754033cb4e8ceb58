import { describe, expect, it } from 'vitest';
import type { Envelope, EnvelopeRecipient } from '../message/envelope.js';
import type { RecipientOutcome } from './recipient-outcome.js';
import { outcomesToReport } from './report-policy.js';

function envelope(recipients: EnvelopeRecipient[], sender = 'alice@example.org'): Envelope {
  return {
    version: 1,
    queueId: 'Q1',
    arrivedAt: '2024-01-02T03:04:05.000Z',
    sender,
    recipients,
    dsn: {},
    bodyType: '7bit',
    smtpUtf8: false,
    source: 'smtp',
  };
}

const failed = (index: number): RecipientOutcome => ({ index, action: 'failed', status: '5.1.1' });
const delivered = (index: number): RecipientOutcome => ({ index, action: 'delivered', status: '2.0.0' });
const relayed = (index: number): RecipientOutcome => ({ index, action: 'relayed', status: '2.0.0' });
const delayed = (index: number): RecipientOutcome => ({ index, action: 'delayed', status: '4.4.7' });

describe('outcomesToReport', () => {
  it('reports nothing to the null sender', () => {
    const env = envelope([{ address: 'a@x.test' }, { address: 'b@x.test', notify: ['SUCCESS'] }], '');
    expect(outcomesToReport(env, [failed(0), delivered(1)], false)).toEqual({
      failures: [],
      successes: [],
      delays: [],
    });
  });

  it('reports nothing when the original is itself a delivery report', () => {
    const env = envelope([{ address: 'a@x.test' }]);
    expect(outcomesToReport(env, [failed(0)], true).failures).toEqual([]);
  });

  it('without NOTIFY reports failures only (the RFC 3461 default)', () => {
    const env = envelope([{ address: 'a@x.test' }, { address: 'b@x.test' }, { address: 'c@x.test' }]);
    const result = outcomesToReport(env, [failed(0), delivered(1), delayed(2)], false);
    expect(result.failures.map((o) => o.index)).toEqual([0]);
    expect(result.successes).toEqual([]);
    expect(result.delays).toEqual([]);
  });

  it('NOTIFY=NEVER suppresses every kind of report', () => {
    const env = envelope([{ address: 'a@x.test', notify: ['NEVER'] }]);
    for (const outcome of [failed(0), delivered(0), delayed(0), relayed(0)]) {
      const result = outcomesToReport(env, [outcome], false);
      expect(result.failures.length + result.successes.length + result.delays.length).toBe(0);
    }
  });

  it('NOTIFY=SUCCESS reports delivered and relayed, not failures', () => {
    const env = envelope([
      { address: 'a@x.test', notify: ['SUCCESS'] },
      { address: 'b@x.test', notify: ['SUCCESS'] },
      { address: 'c@x.test', notify: ['SUCCESS'] },
    ]);
    const result = outcomesToReport(env, [delivered(0), relayed(1), failed(2)], false);
    expect(result.successes.map((o) => o.index)).toEqual([0, 1]);
    expect(result.failures).toEqual([]);
  });

  it('NOTIFY=DELAY reports delays; delays without it are not reported', () => {
    const env = envelope([
      { address: 'a@x.test', notify: ['DELAY'] },
      { address: 'b@x.test', notify: ['FAILURE'] },
      { address: 'c@x.test' },
    ]);
    const result = outcomesToReport(env, [delayed(0), delayed(1), delayed(2), failed(0), failed(1)], false);
    expect(result.delays.map((o) => o.index)).toEqual([0]);
    expect(result.failures.map((o) => o.index)).toEqual([1]);
  });

  it('NOTIFY=SUCCESS,FAILURE,DELAY reports each outcome in its list', () => {
    const env = envelope([{ address: 'a@x.test', notify: ['SUCCESS', 'FAILURE', 'DELAY'] }]);
    const result = outcomesToReport(env, [delayed(0), failed(0), delivered(0)], false);
    expect([result.failures.length, result.successes.length, result.delays.length]).toEqual([1, 1, 1]);
  });

  it('rejects an outcome whose index is not a recipient', () => {
    const env = envelope([{ address: 'a@x.test' }]);
    expect(() => outcomesToReport(env, [failed(1)], false)).toThrow(RangeError);
  });
});
