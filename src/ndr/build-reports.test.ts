import { simpleParser, type ParsedMail } from 'mailparser';
import { describe, expect, it } from 'vitest';
import type { Envelope, EnvelopeRecipient } from '../message/envelope.js';
import { buildReports, type BuiltReport, type ReportOptions } from './build-reports.js';
import type { RecipientOutcome } from './recipient-outcome.js';

const NOW = new Date('2024-01-03T10:20:30Z');

function makeEnvelope(recipients: EnvelopeRecipient[], extra: Partial<Envelope> = {}): Envelope {
  return {
    version: 1,
    queueId: 'Q19A8F3C2B7E',
    arrivedAt: '2024-01-02T03:04:05.000Z',
    sender: 'alice@example.org',
    recipients,
    dsn: {},
    bodyType: '8bitmime',
    smtpUtf8: false,
    source: 'smtp',
    ...extra,
  };
}

function makeOriginal(headerLines: string[], body = 'Hello Bob,\r\n\r\nsee you.\r\n') {
  const headers = Buffer.from(`${headerLines.join('\r\n')}\r\n\r\n`);
  const message = Buffer.concat([headers, Buffer.from(body)]);
  return { headers, message, size: message.length };
}

const ORIGINAL = makeOriginal([
  'From: Alice <alice@example.org>',
  'To: bob@example.com',
  'Subject: Quarterly figures',
]);

function makeOptions(extra: Partial<ReportOptions> = {}): ReportOptions {
  return {
    reportingMta: 'relay.example.net',
    maxRecipients: 32_766,
    overflow: 'truncate',
    maxOriginalBytes: 50 * 1024,
    now: NOW,
    idSeed: 'R00042',
    ...extra,
  };
}

/** The fields of a message/delivery-status body: unfolded, split on blank lines into groups. */
function fieldGroups(text: string): Array<Map<string, string>> {
  return text
    .replace(/\r\n(?=[ \t])/g, '')
    .split(/\r\n\r\n/)
    .filter((group) => group.trim() !== '')
    .map((group) => {
      const fields = new Map<string, string>();
      for (const line of group.split('\r\n').filter((l) => l !== '')) {
        const colon = line.indexOf(':');
        const name = line.slice(0, colon).toLowerCase();
        if (colon <= 0 || fields.has(name)) throw new Error(`bad or repeated field: ${line}`);
        fields.set(name, line.slice(colon + 1).trim());
      }
      return fields;
    });
}

interface ParsedReport {
  mail: ParsedMail;
  /** per-message fields, then one map per recipient */
  perMessage: Map<string, string>;
  perRecipient: Array<Map<string, string>>;
  statusText: string;
  returned: { contentType: string; content: Buffer };
}

async function parseReport(report: BuiltReport): Promise<ParsedReport> {
  const mail = await simpleParser(report.message, { keepDeliveryStatus: true });
  const contentType = mail.headers.get('content-type') as { value: string; params: Record<string, string> };
  expect(contentType.value).toBe('multipart/report');
  expect(contentType.params['report-type']).toBe('delivery-status');
  // RFC 6522: text part, then the delivery-status part, then the returned message or headers
  expect(mail.attachments.map((a) => a.contentType)).toHaveLength(2);
  const [status, returned] = mail.attachments;
  expect(status!.contentType).toBe('message/delivery-status');
  const statusText = status!.content.toString('latin1');
  const [perMessage, ...perRecipient] = fieldGroups(statusText);
  return {
    mail,
    perMessage: perMessage!,
    perRecipient,
    statusText,
    returned: { contentType: returned!.contentType, content: returned!.content },
  };
}

function failed(index: number, extra: Partial<RecipientOutcome> = {}): RecipientOutcome {
  return { index, action: 'failed', status: '5.1.1', diagnostic: '550 5.1.1 User unknown', ...extra };
}

describe('buildReports', () => {
  it('builds an NDR as multipart/report; report-type=delivery-status with the right headers', async () => {
    const envelope = makeEnvelope([{ address: 'bob@example.com' }, { address: 'carol@example.com' }]);
    const set = await buildReports('failure', envelope, ORIGINAL, [failed(0), failed(1)], makeOptions());
    expect(set.capped).toBe(false);
    expect(set.omitted).toBe(0);
    expect(set.reports).toHaveLength(1);
    const report = set.reports[0]!;
    expect(report.sender).toBe('');
    expect(report.recipient).toBe('alice@example.org');
    expect(report.listed).toBe(2);

    const { mail } = await parseReport(report);
    expect(mail.from?.value).toEqual([
      { name: 'Mail Delivery System', address: 'MAILER-DAEMON@relay.example.net' },
    ]);
    expect(mail.to && !Array.isArray(mail.to) ? mail.to.value.map((a) => a.address) : []).toEqual([
      'alice@example.org',
    ]);
    expect(mail.subject).toBe('Undeliverable: Quarterly figures');
    expect(mail.headers.get('auto-submitted')).toBe('auto-replied');
    expect(mail.headers.get('mime-version')).toBe('1.0');
    expect(mail.messageId).toBe('<R00042.1@relay.example.net>');
    expect(mail.date?.toISOString()).toBe(NOW.toISOString());
    expect(mail.text).toContain('bob@example.com');
    expect(mail.text).toContain('550 5.1.1 User unknown');
    expect(mail.text).not.toContain('This is report');
  });

  it('writes the per-message and per-recipient delivery-status fields', async () => {
    const envelope = makeEnvelope(
      [
        { address: 'bob@example.com', orcpt: 'rfc822;Bob@Example.COM' },
        { address: 'carol@example.com' },
        { address: 'dave@example.com', notify: ['FAILURE'] },
      ],
      { dsn: { envid: 'QQ314159' } },
    );
    const outcomes: RecipientOutcome[] = [
      failed(0, {
        remoteMta: 'mx1.example.com',
        diagnostic:
          '550 5.1.1 <bob@example.com>: Recipient address rejected: User unknown in virtual mailbox table',
        lastAttemptAt: new Date('2024-01-02T04:00:00Z'),
      }),
      { index: 1, action: 'failed', status: '5.4.4' },
      failed(2, { status: '5.2.2', diagnostic: '552-5.2.2 Mailbox full\r\n552 5.2.2 Try again later' }),
    ];
    const set = await buildReports('failure', envelope, ORIGINAL, outcomes, makeOptions());
    const { perMessage, perRecipient, statusText } = await parseReport(set.reports[0]!);

    expect(Object.fromEntries(perMessage)).toEqual({
      'reporting-mta': 'dns; relay.example.net',
      'original-envelope-id': 'QQ314159',
      'arrival-date': 'Tue, 02 Jan 2024 03:04:05 +0000',
      // the queue ID of the reported message (our extension field), so a report links to it
      'x-ims-relay-queue-id': 'Q19A8F3C2B7E',
    });
    expect(perRecipient.map((g) => Object.fromEntries(g))).toEqual([
      {
        'original-recipient': 'rfc822;Bob@Example.COM',
        'final-recipient': 'rfc822; bob@example.com',
        action: 'failed',
        status: '5.1.1',
        'remote-mta': 'dns; mx1.example.com',
        'diagnostic-code':
          'smtp; 550 5.1.1 <bob@example.com>: Recipient address rejected: User unknown in virtual mailbox table',
        'last-attempt-date': 'Tue, 02 Jan 2024 04:00:00 +0000',
      },
      { 'final-recipient': 'rfc822; carol@example.com', action: 'failed', status: '5.4.4' },
      {
        'final-recipient': 'rfc822; dave@example.com',
        action: 'failed',
        status: '5.2.2',
        'diagnostic-code': 'smtp; 552-5.2.2 Mailbox full 552 5.2.2 Try again later',
      },
    ]);
    expect(statusText.split('\r\n').every((line) => line.length <= 78)).toBe(true);
  });

  it('writes Original-Envelope-Id only when the sender gave ENVID', async () => {
    const envelope = makeEnvelope([{ address: 'bob@example.com' }]);
    const set = await buildReports('failure', envelope, ORIGINAL, [failed(0)], makeOptions());
    const { perMessage, perRecipient } = await parseReport(set.reports[0]!);
    expect([...perMessage.keys()]).toEqual(['reporting-mta', 'arrival-date', 'x-ims-relay-queue-id']);
    expect(perRecipient[0]!.has('original-recipient')).toBe(false);
    expect(perRecipient[0]!.has('remote-mta')).toBe(false);
    expect(perRecipient[0]!.has('last-attempt-date')).toBe(false);
  });

  it('writes a non-ASCII recipient as RFC 6533 utf-8 and keeps the delivery-status part 7-bit', async () => {
    const envelope = makeEnvelope([{ address: 'jörg@bücher.example', orcpt: 'utf-8;jörg@bücher.example' }], {
      sender: 'andrés@example.org',
      smtpUtf8: true,
    });
    const set = await buildReports(
      'failure',
      envelope,
      ORIGINAL,
      [failed(0, { diagnostic: '550 Empfänger unbekannt' })],
      makeOptions(),
    );
    const statusPart = /Content-Type: message\/delivery-status\r\n\r\n([\s\S]*?)\r\n--=_ndr_/.exec(
      set.reports[0]!.message.toString('latin1'),
    );
    expect(statusPart).not.toBeNull();
    expect(Buffer.from(statusPart![1]!, 'latin1').every((byte) => byte < 0x80)).toBe(true);
    const { mail, perRecipient } = await parseReport(set.reports[0]!);
    expect(perRecipient[0]!.get('final-recipient')).toBe('utf-8; j\\x{F6}rg@b\\x{FC}cher.example');
    expect(perRecipient[0]!.get('original-recipient')).toBe('utf-8; j\\x{F6}rg@b\\x{FC}cher.example');
    expect(perRecipient[0]!.get('diagnostic-code')).toBe('smtp; 550 Empf\\x{E4}nger unbekannt');
    expect(mail.text).toContain('jörg@bücher.example');
    expect(set.reports[0]!.recipient).toBe('andrés@example.org');
  });

  it('returns a small original whole as message/rfc822', async () => {
    const envelope = makeEnvelope([{ address: 'bob@example.com' }], { dsn: { ret: 'FULL' } });
    const set = await buildReports('failure', envelope, ORIGINAL, [failed(0)], makeOptions());
    const { returned } = await parseReport(set.reports[0]!);
    expect(returned.contentType).toBe('message/rfc822');
    expect(returned.content.equals(ORIGINAL.message)).toBe(true);
  });

  it('returns only the headers as text/rfc822-headers when RET=HDRS', async () => {
    const envelope = makeEnvelope([{ address: 'bob@example.com' }], { dsn: { ret: 'HDRS' } });
    const set = await buildReports('failure', envelope, ORIGINAL, [failed(0)], makeOptions());
    const { returned } = await parseReport(set.reports[0]!);
    expect(returned.contentType).toBe('text/rfc822-headers');
    expect(returned.content.toString()).toBe(ORIGINAL.headers.toString().replace(/\r\n\r\n$/, '\r\n'));
    expect(set.reports[0]!.message.includes('Hello Bob')).toBe(false);
  });

  it('returns only the headers when the original is larger than maxOriginalBytes', async () => {
    const big = makeOriginal(
      ['From: alice@example.org', 'Subject: big'],
      `${'x'.repeat(70)}\r\n`.repeat(1000),
    );
    const envelope = makeEnvelope([{ address: 'bob@example.com' }]);
    const over = await buildReports(
      'failure',
      envelope,
      big,
      [failed(0)],
      makeOptions({ maxOriginalBytes: big.size - 1 }),
    );
    expect((await parseReport(over.reports[0]!)).returned.contentType).toBe('text/rfc822-headers');
    expect(over.reports[0]!.message.length).toBeLessThan(big.size);
    const atLimit = await buildReports(
      'failure',
      envelope,
      big,
      [failed(0)],
      makeOptions({ maxOriginalBytes: big.size }),
    );
    expect((await parseReport(atLimit.reports[0]!)).returned.contentType).toBe('message/rfc822');
    const noBody = await buildReports(
      'failure',
      envelope,
      { headers: big.headers, size: 10 },
      [failed(0)],
      makeOptions(),
    );
    expect((await parseReport(noBody.reports[0]!)).returned.contentType).toBe('text/rfc822-headers');
  });

  it('returns an 8-bit original byte for byte with Content-Transfer-Encoding 8bit', async () => {
    const original = makeOriginal(['From: alice@example.org', 'Subject: Grüße'], 'Schöne Grüße aus Köln\r\n');
    const envelope = makeEnvelope([{ address: 'bob@example.com' }]);
    const set = await buildReports('failure', envelope, original, [failed(0)], makeOptions());
    expect(set.reports[0]!.message.toString('latin1')).toMatch(
      /Content-Type: message\/rfc822\r\nContent-Transfer-Encoding: 8bit\r\n/,
    );
    const { mail, returned } = await parseReport(set.reports[0]!);
    expect(returned.content.equals(original.message)).toBe(true);
    expect(mail.subject).toBe('Undeliverable: Grüße');

    const hdrs = await buildReports(
      'failure',
      makeEnvelope([{ address: 'b@x.test' }], { dsn: { ret: 'HDRS' } }),
      original,
      [failed(0)],
      makeOptions(),
    );
    const parsed = await parseReport(hdrs.reports[0]!);
    expect(parsed.returned.contentType).toBe('text/rfc822-headers');
    expect(parsed.returned.content.toString('utf8')).toContain('Subject: Grüße');
  });

  it('titles delivery and delay reports and lists their actions', async () => {
    const envelope = makeEnvelope([
      { address: 'bob@example.com', notify: ['SUCCESS'] },
      { address: 'carol@example.com', notify: ['SUCCESS', 'DELAY'] },
    ]);
    const success = await buildReports(
      'success',
      envelope,
      ORIGINAL,
      [
        { index: 0, action: 'delivered', status: '2.0.0' },
        {
          index: 1,
          action: 'relayed',
          status: '2.0.0',
          remoteMta: 'mx.example.com',
          diagnostic: '250 2.0.0 OK',
        },
      ],
      makeOptions(),
    );
    const s = await parseReport(success.reports[0]!);
    expect(s.mail.subject).toBe('Delivered: Quarterly figures');
    expect(s.perRecipient.map((g) => [g.get('action'), g.get('status')])).toEqual([
      ['delivered', '2.0.0'],
      ['relayed', '2.0.0'],
    ]);

    const delay = await buildReports(
      'delay',
      envelope,
      ORIGINAL,
      [
        {
          index: 1,
          action: 'delayed',
          status: '4.4.7',
          diagnostic: '421 4.4.7 try later',
          willRetryUntil: new Date('2024-01-05T00:00:00Z'),
        },
      ],
      makeOptions(),
    );
    const d = await parseReport(delay.reports[0]!);
    expect(d.mail.subject).toBe('Delayed: Quarterly figures');
    expect(d.perRecipient[0]!.get('action')).toBe('delayed');
    expect(d.perRecipient[0]!.get('will-retry-until')).toBe('Fri, 05 Jan 2024 00:00:00 +0000');
  });

  it('uses "(no subject)" when the original has no Subject and unfolds a folded one', async () => {
    const envelope = makeEnvelope([{ address: 'bob@example.com' }]);
    const none = await buildReports(
      'failure',
      envelope,
      makeOriginal(['From: a@x.test']),
      [failed(0)],
      makeOptions(),
    );
    expect((await parseReport(none.reports[0]!)).mail.subject).toBe('Undeliverable: (no subject)');
    const folded = makeOriginal(['From: a@x.test', 'Subject: a subject', ' folded over two lines']);
    const set = await buildReports('failure', envelope, folded, [failed(0)], makeOptions());
    expect((await parseReport(set.reports[0]!)).mail.subject).toBe(
      'Undeliverable: a subject folded over two lines',
    );
  });

  it('builds nothing for the null sender or no outcomes, and rejects a bad index', async () => {
    const envelope = makeEnvelope([{ address: 'bob@example.com' }]);
    const nullSender = await buildReports(
      'failure',
      { ...envelope, sender: '' },
      ORIGINAL,
      [failed(0)],
      makeOptions(),
    );
    expect(nullSender).toEqual({ reports: [], omitted: 0, capped: false });
    expect(await buildReports('failure', envelope, ORIGINAL, [], makeOptions())).toEqual({
      reports: [],
      omitted: 0,
      capped: false,
    });
    await expect(buildReports('failure', envelope, ORIGINAL, [failed(3)], makeOptions())).rejects.toThrow(
      RangeError,
    );
  });

  it('is deterministic: the same inputs give the same bytes', async () => {
    const envelope = makeEnvelope([{ address: 'bob@example.com' }, { address: 'carol@example.com' }]);
    const outcomes = [failed(0), failed(1)];
    const a = await buildReports('failure', envelope, ORIGINAL, outcomes, makeOptions());
    const b = await buildReports('failure', envelope, ORIGINAL, outcomes, makeOptions());
    expect(a.reports[0]!.message.equals(b.reports[0]!.message)).toBe(true);
    const other = await buildReports(
      'failure',
      envelope,
      ORIGINAL,
      outcomes,
      makeOptions({ idSeed: 'R00043' }),
    );
    expect(other.reports[0]!.message.equals(a.reports[0]!.message)).toBe(false);
    expect((await parseReport(other.reports[0]!)).mail.messageId).toBe('<R00043.1@relay.example.net>');
  });

  it('picks another boundary when the original contains the derived one', async () => {
    const hostile = makeOriginal(
      ['From: a@x.test', 'Subject: tricky'],
      '--=_ndr_R00042.1\r\nnot a boundary\r\n--=_ndr_R00042.1--\r\n',
    );
    const envelope = makeEnvelope([{ address: 'bob@example.com' }]);
    const set = await buildReports('failure', envelope, hostile, [failed(0)], makeOptions());
    const { mail, returned } = await parseReport(set.reports[0]!);
    expect((mail.headers.get('content-type') as { params: Record<string, string> }).params.boundary).toBe(
      '=_ndr_R00042.1.1',
    );
    expect(returned.content.equals(hostile.message)).toBe(true);
  });

  it('writes CRLF line ends only and no line longer than 998', async () => {
    const original = makeOriginal(['From: a@x.test', `Subject: ${'long '.repeat(40)}`], 'bare\nlf\nbody\n');
    const envelope = makeEnvelope([{ address: 'bob@example.com' }]);
    const set = await buildReports(
      'failure',
      envelope,
      original,
      [failed(0, { diagnostic: `550 ${'z'.repeat(3000)}` })],
      makeOptions(),
    );
    const text = set.reports[0]!.message.toString('latin1');
    expect(/(^|[^\r])\n/.test(text)).toBe(false);
    expect(/\r(?!\n)/.test(text)).toBe(false);
    expect(Math.max(...text.split('\r\n').map((l) => l.length))).toBeLessThanOrEqual(998);
    expect((await parseReport(set.reports[0]!)).returned.content.toString()).toContain(
      'bare\r\nlf\r\nbody\r\n',
    );
  });
});

describe('buildReports recipient cap (Q272672)', () => {
  const TOTAL = 100_000;
  const manyEnvelope = makeEnvelope(
    Array.from({ length: TOTAL }, (_, i) => ({ address: `user${i}@example.com` })),
  );
  const manyFailures = Array.from({ length: TOTAL }, (_, i) => failed(i));
  const countFinalRecipients = (text: string) => text.match(/^Final-Recipient:/gm)?.length ?? 0;

  it('truncate: one report listing exactly 32,766 recipients and a note on the 67,234 others', async () => {
    const set = await buildReports('failure', manyEnvelope, ORIGINAL, manyFailures, makeOptions());
    expect(set.capped).toBe(true);
    expect(set.omitted).toBe(67_234);
    expect(set.reports).toHaveLength(1);
    expect(set.reports[0]!.listed).toBe(32_766);
    const { mail, perRecipient, statusText } = await parseReport(set.reports[0]!);
    expect(countFinalRecipients(statusText)).toBe(32_766);
    expect(perRecipient).toHaveLength(32_766);
    expect(perRecipient[0]!.get('final-recipient')).toBe('rfc822; user0@example.com');
    expect(perRecipient[32_765]!.get('final-recipient')).toBe('rfc822; user32765@example.com');
    expect(mail.text).toContain(
      '67234 further recipients could not be delivered and are not listed in this report: ' +
        'the total number of recipients exceeds 32766.',
    );
    // the text part stays small: 100 addresses, then a count
    expect(mail.text).toContain('user99@example.com');
    expect(mail.text).not.toContain('user100@example.com');
    expect(mail.text).toContain('... and 32666 more');
    expect(mail.text!.length).toBeLessThan(10_000);
  });

  it('split: four reports listing 32,766 + 32,766 + 32,766 + 1,702, every recipient once', async () => {
    const set = await buildReports(
      'failure',
      manyEnvelope,
      ORIGINAL,
      manyFailures,
      makeOptions({ overflow: 'split' }),
    );
    expect(set.capped).toBe(true);
    expect(set.omitted).toBe(0);
    expect(set.reports.map((r) => r.listed)).toEqual([32_766, 32_766, 32_766, 1_702]);
    const seen: string[] = [];
    for (const [i, report] of set.reports.entries()) {
      const { mail, statusText, perRecipient } = await parseReport(report);
      expect(countFinalRecipients(statusText)).toBe(report.listed);
      expect(mail.text).toContain(`This is report ${i + 1} of 4.`);
      expect(mail.text).not.toContain('further recipients');
      expect(mail.messageId).toBe(`<R00042.${i + 1}@relay.example.net>`);
      for (const group of perRecipient) seen.push(group.get('final-recipient')!);
    }
    expect(seen).toHaveLength(TOTAL);
    expect(new Set(seen).size).toBe(TOTAL);
    expect(seen[TOTAL - 1]).toBe('rfc822; user99999@example.com');
  });

  it('is not capped with 5 failures', async () => {
    for (const overflow of ['truncate', 'split'] as const) {
      const set = await buildReports(
        'failure',
        manyEnvelope,
        ORIGINAL,
        manyFailures.slice(0, 5),
        makeOptions({ overflow }),
      );
      expect(set).toMatchObject({ omitted: 0, capped: false });
      expect(set.reports.map((r) => r.listed)).toEqual([5]);
      expect((await parseReport(set.reports[0]!)).mail.text).not.toContain('further recipients');
    }
  });
});
