import fc from 'fast-check';
import { simpleParser } from 'mailparser';
import * as mailparser from 'mailparser';
import nodemailer from 'nodemailer';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { boundHeadersForView } from './bounded-headers.js';
import { parseForIndex } from './parse-mail.js';
import { parsePlainText, plainTextTools } from './plain-text-parse.js';

const tools = await plainTextTools(mailparser);
/** The quoted-printable encoder nodemailer's family uses (libqp, which mailparser's splitter decodes with). */
const libqp = createRequire(import.meta.url)('libqp') as {
  encode: (s: string) => string;
  wrap: (s: string, width: number) => string;
};

/** What mailparser itself gives for the fields the index reads. */
async function byMailparser(source: Buffer) {
  const mail = await simpleParser(boundHeadersForView(source), {
    skipHtmlToText: true,
    skipTextToHtml: true,
    skipImageLinks: true,
  });
  return {
    headers: mail.headers,
    subject: mail.subject,
    from: mail.from ? { text: mail.from.text } : undefined,
    date: mail.date,
    text: mail.text ?? '',
    attachments: mail.attachments.length,
  };
}

function short(source: Buffer) {
  const plain = parsePlainText(boundHeadersForView(source), tools!);
  return plain && { ...plain, attachments: 0 };
}

const word = fc.stringMatching(/^[A-Za-z0-9]{1,12}$/);
const unicodeText = fc.string({ unit: 'grapheme', maxLength: 40 }).map((s) => s.replace(/[\r\n]/g, ' '));
const encodedWord = unicodeText.map((s) => `=?utf-8?B?${Buffer.from(s).toString('base64')}?=`);
const qWord = word.map((s) => `=?UTF-8?Q?${s}_x?=`);
const subject = fc.oneof(unicodeText, encodedWord, qWord, fc.constant(''));
const address = fc.tuple(word, word).map(([a, b]) => `${a}@${b}.test`);
const from = fc.oneof(
  address,
  address.map((a) => `<${a}>`),
  fc.tuple(word, address).map(([n, a]) => `"${n} ${n}" <${a}>`),
  fc.tuple(encodedWord, address).map(([n, a]) => `${n} <${a}>`),
  fc.tuple(address, address).map(([a, b]) => `${a}, ${b}`),
);
// mostly what the short path takes, often what it must leave to mailparser
const contentType = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      undefined,
      'text/plain',
      'text/plain; charset=utf-8',
      'TEXT/PLAIN; charset="UTF-8"',
      'text/plain; charset=us-ascii',
    ),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      'text/plain; charset=iso-8859-1',
      'text/plain; format=flowed',
      'text/html; charset=utf-8',
    ),
  },
);
const encoding = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom(undefined, '7bit', '8BIT', 'binary', 'quoted-printable', 'Quoted-Printable'),
  },
  { weight: 1, arbitrary: fc.constantFrom('base64', 'x-uuencode') },
);
const lineEnd = fc.constantFrom('\r\n', '\n');
const bodyLine = fc.oneof(unicodeText, word, fc.constant(''), fc.constant('.'), fc.constant('a\rb'));
const date = fc
  .date({ min: new Date('1990-01-01'), max: new Date('2090-01-01'), noInvalidDate: true })
  .map((d) => d.toUTCString());

const message = fc
  .record({
    subject: fc.option(subject, { nil: undefined }),
    from: fc.option(from, { nil: undefined }),
    date: fc.option(date, { nil: undefined }),
    tag: fc.option(word, { nil: undefined }),
    type: contentType,
    encoding,
    disposition: fc.oneof(
      { weight: 4, arbitrary: fc.constant(false) },
      { weight: 1, arbitrary: fc.constant(true) },
    ),
    fold: fc.boolean(),
    eol: lineEnd,
    body: fc.array(bodyLine, { maxLength: 8 }),
    blank: fc.boolean(),
    qp: fc.boolean(),
  })
  .map((m) => {
    const fields: string[] = [];
    if (m.from !== undefined) fields.push(`From: ${m.from}`);
    if (m.subject !== undefined)
      fields.push(m.fold ? `Subject: x${m.eol} ${m.subject}` : `Subject: ${m.subject}`);
    if (m.date !== undefined) fields.push(`Date: ${m.date}`);
    if (m.tag !== undefined) fields.push(`X-Ims-Relay-Tag: ${m.tag}, other`);
    fields.push('Message-ID: <1@example.test>', 'MIME-Version: 1.0');
    if (m.type !== undefined) fields.push(`Content-Type: ${m.type}`);
    if (m.encoding !== undefined) fields.push(`Content-Transfer-Encoding: ${m.encoding}`);
    if (m.disposition) fields.push('Content-Disposition: inline');
    const head = fields.join(m.eol) + m.eol;
    if (!m.blank) return Buffer.from(head, 'utf8');
    const text = m.body.join(m.eol) + (m.body.length ? m.eol : '');
    // quoted-printable as a sender writes it (soft breaks, =XX for 8-bit), or a plain body all the same
    const body =
      m.encoding?.toLowerCase() === 'quoted-printable' && m.qp ? libqp.wrap(libqp.encode(text), 76) : text;
    return Buffer.from(head + m.eol + body, 'utf8');
  });

describe('the short path for plain-text messages', () => {
  it("finds mailparser's own pieces", () => {
    expect(tools).not.toBeNull();
  });

  it('gives what mailparser gives, for every message it takes', async () => {
    let taken = 0;
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(message, async (source) => {
        runs++;
        const got = short(source);
        if (!got) return;
        taken++;
        expect(got).toEqual(await byMailparser(source));
      }),
      { numRuns: 600 },
    );
    // the property means something only if the short path is taken often
    expect(taken).toBeGreaterThan(runs / 3);
  });

  it('takes what nodemailer builds for a text message, ASCII and UTF-8', async () => {
    const transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: '\r\n' });
    for (const text of [
      'Hello there.\nSecond line.',
      'caf\u00e9 ok',
      'x'.repeat(2000),
      'short\n'.repeat(300),
    ]) {
      const info = await transport.sendMail({
        from: 'Sender Name <sender@example.test>',
        to: 'a@example.test',
        subject: 'Caf\u00e9 report',
        text,
      });
      const source = info.message as Buffer;
      const got = short(source);
      // nodemailer sends non-ASCII text and long lines as quoted-printable
      expect(source.toString()).toMatch(/^Content-Transfer-Encoding: (7bit|quoted-printable)\r$/im);
      expect(got).toBeDefined();
      expect(got).toEqual(await byMailparser(source));
      expect(await parseForIndex(source)).toEqual(await byMailparser(source));
    }
  });

  it('leaves MIME structure, other charsets, encodings and dispositions to mailparser', () => {
    const cases = [
      'Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nx\r\n--b--\r\n',
      'Content-Type: text/html\r\n\r\n<p>x</p>\r\n',
      'Content-Type: text/plain; charset=iso-8859-1\r\n\r\nx\r\n',
      'Content-Type: text/plain; format=flowed\r\n\r\nx \r\ny\r\n',
      'Content-Transfer-Encoding: base64\r\n\r\neA==\r\n',
      'Content-Disposition: attachment; filename=a.txt\r\n\r\nx\r\n',
      'Content-Type: text/plain\r\nContent-Type: text/html\r\n\r\nx\r\n',
    ];
    for (const c of cases) expect(short(Buffer.from('Subject: s\r\n' + c)), c).toBeUndefined();
    expect(short(Buffer.from('Subject: s\r\n\r\nplain\r\n'))?.text).toBe('plain\n');
    expect(
      short(Buffer.from('Content-Transfer-Encoding: quoted-printable\r\n\r\ncaf=C3=A9 x=\r\ny\r\n'))?.text,
    ).toBe('caf\u00e9 xy\n');
  });

  it('parseForIndex gives the same fields either way, for a MIME message too', async () => {
    const transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: '\r\n' });
    const info = await transport.sendMail({
      from: 'a@example.test',
      to: 'b@example.test',
      subject: 'with an attachment',
      text: 'body',
      html: '<p>body</p>',
      attachments: [{ filename: 'a.txt', content: 'hello' }],
    });
    const source = info.message as Buffer;
    const indexed = await parseForIndex(source);
    expect(indexed).toEqual(await byMailparser(source));
    expect(indexed.attachments).toBe(1);
  });
});
