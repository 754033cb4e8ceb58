/**
 * mailparser's simpleParser, loaded on first use: it and its dependencies take some 35 MB, which a
 * relay that never shows a parsed message (the admin API's message views, the test API) should
 * not pay for.
 */
import type { ParsedMail, SimpleParserOptions } from 'mailparser';

let parser: Promise<typeof import('mailparser')> | undefined;

export async function parseMail(source: Buffer, options: SimpleParserOptions = {}): Promise<ParsedMail> {
  parser ??= import('mailparser');
  const { simpleParser } = await parser;
  return simpleParser(source, options);
}
