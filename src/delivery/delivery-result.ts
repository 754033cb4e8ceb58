/** What one delivery attempt to one recipient came to: a value, never an exception. */
export type RecipientAttempt =
  | { kind: 'delivered'; address: string; status: string; diagnostic: string; remoteMta?: string }
  | { kind: 'temporary'; address: string; status: string; diagnostic: string; remoteMta?: string }
  | { kind: 'permanent'; address: string; status: string; diagnostic: string; remoteMta?: string };

/** The RFC 3463 status in an SMTP reply (`550 5.1.1 …`), or one derived from its code. */
export function statusOfReply(reply: string, code?: number): string {
  const m = /^\d{3}[ -]([245]\.\d{1,3}\.\d{1,3})\b/.exec(reply);
  if (m) return m[1]!;
  const c = code ?? Number(reply.slice(0, 3));
  return c >= 500 ? '5.0.0' : c >= 400 ? '4.0.0' : '2.0.0';
}
