/**
 * A captured message as people read it: the parsed headers, text, HTML and attachments of the
 * message (for `GET /api/v1/mail/{id}`, the CLI and the test API), and one attachment's bytes. They
 * take the message without the store's trace lines (`MessageStore.readMessage`).
 */
import type { Attachment } from 'mailparser';
import { parseMail } from '../message/parse-mail.js';

export interface HeaderLine {
  name: string;
  value: string;
}

export interface AttachmentInfo {
  /** Its number in `/attachments/{n}` (from 0, in message order). */
  n: number;
  filename: string | undefined;
  contentType: string;
  size: number;
  contentId: string | undefined;
  inline: boolean;
}

export interface MessageView {
  /** The message's own header lines, in order (the trace lines the store added are not repeated). */
  headers: HeaderLine[];
  to: string | undefined;
  cc: string | undefined;
  text: string | undefined;
  html: string | undefined;
  attachments: AttachmentInfo[];
}

const addressText = (v: { text: string } | { text: string }[] | undefined) =>
  v === undefined ? undefined : Array.isArray(v) ? v.map((a) => a.text).join(', ') : v.text;

function attachmentInfo(a: Attachment, n: number): AttachmentInfo {
  return {
    n,
    filename: a.filename,
    contentType: a.contentType,
    size: a.size,
    contentId: a.contentId,
    inline: a.contentDisposition === 'inline' || a.related === true,
  };
}

export async function viewMessage(message: Buffer): Promise<MessageView> {
  const mail = await parseMail(message, { skipTextToHtml: true, skipImageLinks: true });
  return {
    headers: mail.headerLines.map((h) => {
      const colon = h.line.indexOf(':');
      return { name: h.line.slice(0, colon), value: h.line.slice(colon + 1).trim() };
    }),
    to: addressText(mail.to),
    cc: addressText(mail.cc),
    text: mail.text,
    html: mail.html === false ? undefined : mail.html,
    attachments: mail.attachments.map(attachmentInfo),
  };
}

export async function attachmentOf(
  message: Buffer,
  n: number,
): Promise<{ info: AttachmentInfo; content: Buffer } | undefined> {
  const mail = await parseMail(message, { skipHtmlToText: true, skipTextToHtml: true });
  const a = mail.attachments[n];
  return a ? { info: attachmentInfo(a, n), content: a.content } : undefined;
}
