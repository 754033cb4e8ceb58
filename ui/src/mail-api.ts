/**
 * The capture store's HTTP API (`/api/v1/mail`) as the page uses it: lists, one message, its
 * recipients and, for a delivery report, the per-recipient statuses.
 */
import { getJson, query, request, sendJson } from './api';

export interface MailFilter {
  q?: string;
  to?: string;
  from?: string;
  tag?: string;
  /** The captures of a queue entry and the reports about it. */
  queueId?: string;
  report?: boolean;
}

export interface MailSummary {
  id: string;
  queueId?: string;
  from: string;
  subject?: string;
  date: string;
  size: number;
  recipientCount: number;
  recipients: string[];
  tags: string[];
  report: boolean;
  /** A report: the queue ID of the message it reports on. */
  reportedQueueId?: string;
}

export interface MailPage {
  total: number;
  messages: MailSummary[];
  nextCursor?: string;
}

export interface Attachment {
  index: number;
  name: string;
  type: string;
  size: number;
}

export interface ReportRecipient {
  recipient: string;
  action: string;
  status: string;
  diagnosticCode?: string;
}

export interface MailDetail extends MailSummary {
  headers: [string, string][];
  text?: string;
  html?: string;
  attachments: Attachment[];
  reportInfo?: {
    recipients: ReportRecipient[];
    recipientTotal: number;
    originalSubject?: string;
    originalFrom?: string;
  };
}

type Loose = Record<string, unknown>;
const str = (v: unknown): string | undefined =>
  typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined;
const num = (v: unknown, fallback = 0): number => (typeof v === 'number' ? v : fallback);
const addressText = (v: unknown): string => {
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return v.map(addressText).join(', ');
  if (v && typeof v === 'object') {
    const o = v as Loose;
    return str(o.address) ?? str(o.text) ?? str(o.value) ?? '';
  }
  return '';
};

function summary(m: Loose): MailSummary {
  const recipients = Array.isArray(m.recipients) ? m.recipients.map(addressText) : [];
  return {
    id: str(m.id) ?? '',
    ...(str(m.queueId) ? { queueId: str(m.queueId)! } : {}),
    from: addressText(m.from),
    ...(str(m.subject) !== undefined ? { subject: str(m.subject)! } : {}),
    date: str(m.date) ?? str(m.receivedAt) ?? '',
    size: num(m.size),
    recipientCount: num(m.recipientCount, recipients.length),
    recipients,
    tags: Array.isArray(m.tags) ? m.tags.map(String) : [],
    report: Boolean(m.report),
    ...(str(m.reportedQueueId) ? { reportedQueueId: str(m.reportedQueueId)! } : {}),
  };
}

/** `report=true` (reports only), `report=false` (no reports) or nothing. */
const reportParam = (f: MailFilter) => (f.report === undefined ? undefined : String(f.report));

export async function listMail(filter: MailFilter, limit: number, cursor?: string): Promise<MailPage> {
  const body = await getJson<Loose>(
    `/api/v1/mail${query({ ...filter, report: reportParam(filter), limit, cursor })}`,
  );
  const messages = Array.isArray(body.messages) ? (body.messages as Loose[]).map(summary) : [];
  const next = str(body.nextCursor) ?? str(body.cursor);
  return { total: num(body.total, messages.length), messages, ...(next ? { nextCursor: next } : {}) };
}

function headerList(h: unknown): [string, string][] {
  return Array.isArray(h)
    ? (h as Loose[]).map((x): [string, string] => [str(x.name) ?? '', str(x.value) ?? ''])
    : [];
}

function reportRecipient(r: Loose): ReportRecipient {
  const diagnostic = str(r.diagnostic);
  return {
    recipient: addressText(r.recipient),
    action: str(r.action) ?? '',
    status: str(r.status) ?? '',
    ...(diagnostic ? { diagnosticCode: diagnostic } : {}),
  };
}

/** A name to save an attachment that has none under (a report's returned message, say). */
function unnamed(type: string | undefined, i: number): string {
  if (type === 'message/rfc822') return 'original-message.eml';
  if (type === 'text/rfc822-headers') return 'original-headers.txt';
  if (type === 'message/delivery-status') return 'delivery-status.txt';
  return `attachment-${i + 1}`;
}

/** `      Subject: …` in the human-readable part of a report names the original message. */
const ORIGINAL_SUBJECT = /^\s+Subject:\s*(.*)$/m;

export async function getMail(id: string, recipientsOffset = 0, recipientsLimit = 100): Promise<MailDetail> {
  const m = await getJson<Loose>(
    `/api/v1/mail/${encodeURIComponent(id)}${query({ recipientsOffset, recipientsLimit })}`,
  );
  const page = (m.recipients ?? {}) as Loose;
  const attachments = Array.isArray(m.attachments)
    ? (m.attachments as Loose[]).map((a, i) => ({
        index: num(a.n, i),
        name: str(a.filename) ?? unnamed(str(a.contentType), i),
        type: str(a.contentType) ?? 'application/octet-stream',
        size: num(a.size),
      }))
    : [];
  const detail: MailDetail = {
    ...summary({ ...m, recipients: Array.isArray(page.items) ? page.items : [] }),
    headers: headerList(m.headers),
    ...(str(m.text) !== undefined ? { text: str(m.text)! } : {}),
    ...(str(m.html) !== undefined ? { html: str(m.html)! } : {}),
    attachments,
  };
  if (detail.report) {
    const statuses = Array.isArray(m.reportStatuses)
      ? (m.reportStatuses as Loose[]).map(reportRecipient)
      : [];
    const subject = ORIGINAL_SUBJECT.exec(detail.text ?? '')?.[1];
    detail.reportInfo = {
      recipients: statuses,
      recipientTotal: statuses.length,
      ...(subject ? { originalSubject: subject } : {}),
      // a report goes to the original message's sender
      ...(detail.recipients[0] ? { originalFrom: detail.recipients[0] } : {}),
    };
  }
  return detail;
}

/** One page of a message's recipients (a message can have 32,766). */
export async function mailRecipients(
  id: string,
  offset: number,
  limit: number,
): Promise<{ total: number; recipients: string[] }> {
  const m = await getJson<Loose>(
    `/api/v1/mail/${encodeURIComponent(id)}${query({ recipientsOffset: offset, recipientsLimit: limit })}`,
  );
  const page = (m.recipients ?? {}) as Loose;
  const list = Array.isArray(page.items) ? page.items.map(addressText) : [];
  return { total: num(page.total, list.length), recipients: list };
}

export async function rawMail(id: string): Promise<string> {
  return (await request(`/api/v1/mail/${encodeURIComponent(id)}/raw`)).text();
}

export async function htmlOf(id: string): Promise<string> {
  return (await request(`/api/v1/mail/${encodeURIComponent(id)}/html`)).text();
}

export function deleteMail(id: string): Promise<unknown> {
  return sendJson('DELETE', `/api/v1/mail/${encodeURIComponent(id)}`);
}

export function deleteAllMail(filter: MailFilter): Promise<unknown> {
  return sendJson('DELETE', `/api/v1/mail${query({ ...filter, report: reportParam(filter) })}`);
}

export const attachmentPath = (id: string, index: number): string =>
  `/api/v1/mail/${encodeURIComponent(id)}/attachments/${index}`;
