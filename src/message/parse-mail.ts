/**
 * mailparser's simpleParser, loaded on first use: it and its dependencies take some 35 MB, which a
 * relay that never shows a parsed message (the admin API's message views, the test API) should
 * not pay for.
 */
import type { ParsedMail, SimpleParserOptions } from 'mailparser';
import { boundHeadersForView } from './bounded-headers.js';
import { parsePlainText, plainTextTools, type Tools } from './plain-text-parse.js';

let parser: Promise<typeof import('mailparser')> | undefined;

/**
 * Loads the parser now: capture mode parses every message it captures (for the index) before its
 * 250, and the first one should not wait the ~200 ms the module takes to load. Resolves either way
 * (a load failure is reported by the first parseMail()).
 */
export async function loadParser(): Promise<void> {
  parser ??= import('mailparser');
  const mailparser = await parser.catch(() => undefined);
  if (mailparser) await (plainTools ??= plainTextTools(mailparser));
}

/** Parses a message for a view; header fields over 16 KB (a To: of 32,766 addresses) are cut first. */
export async function parseMail(source: Buffer, options: SimpleParserOptions = {}): Promise<ParsedMail> {
  parser ??= import('mailparser');
  const { simpleParser } = await parser;
  return simpleParser(boundHeadersForView(source), options);
}

let plainTools: Promise<Tools | null> | undefined;

/** What the store's index reads of a message. */
export interface IndexedMail {
  headers: Map<string, unknown>;
  subject: string | undefined;
  from: { text: string } | undefined;
  date: Date | undefined;
  text: string | undefined;
  attachments: number;
}

/**
 * Parses a message for the store's index: a message of one plain-text part through the short
 * path (plain-text-parse.ts), any other through mailparser, with the same results.
 */
export async function parseForIndex(source: Buffer): Promise<IndexedMail> {
  parser ??= import('mailparser');
  const mailparser = await parser;
  const bounded = boundHeadersForView(source);
  plainTools ??= plainTextTools(mailparser);
  const tools = await plainTools;
  const plain = tools && parsePlainText(bounded, tools);
  if (plain) return { ...plain, attachments: 0 };
  const mail = await mailparser.simpleParser(bounded, {
    skipHtmlToText: true,
    skipTextToHtml: true,
    skipImageLinks: true,
  });
  return {
    headers: mail.headers as Map<string, unknown>,
    subject: mail.subject,
    from: mail.from ? { text: mail.from.text } : undefined,
    date: mail.date,
    text: mail.text,
    attachments: mail.attachments.length,
  };
}

/** The parts of a message people look for first: subject, sender, recipients, date, text. */
export interface MailSummary {
  subject: string | undefined;
  from: string | undefined;
  to: string | undefined;
  date: string | undefined;
  text: string | undefined;
}

export async function summarizeMail(source: Buffer, maxText = Infinity): Promise<MailSummary> {
  const mail = await parseMail(source, { skipHtmlToText: true });
  const to = mail.to
    ? Array.isArray(mail.to)
      ? mail.to.map((a) => a.text).join(', ')
      : mail.to.text
    : undefined;
  return {
    subject: mail.subject,
    from: mail.from?.text,
    to,
    date: mail.date?.toISOString(),
    text: mail.text === undefined ? undefined : mail.text.slice(0, maxText),
  };
}
