/**
 * sendAll: sends one message to any number of recipients through nodemailer, in as many SMTP
 * transactions as the server needs. A server that caps the recipients of a transaction answers
 * `452` to the ones past its cap, which (RFC 5321 §4.5.3.1.10; Q272672 for the IMS) means "send
 * another message to the rest": nodemailer reports those in `info.rejected` and stops. sendAll
 * learns the cap from the first transaction that gets a 452, sends exactly the 452-refused
 * recipients again in new transactions of at most that many, with the same Message-ID and the same
 * bytes, and reports the ones refused for good (5xx) with their replies.
 */
import os from 'node:os';
import { randomUUID } from 'node:crypto';
import nodemailer, { type Transporter } from 'nodemailer';
import addressparser from 'nodemailer/lib/addressparser/index.js';
import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import type Mail from 'nodemailer/lib/mailer/index.js';
import type SMTPTransport from 'nodemailer/lib/smtp-transport/index.js';

/** A recipient the server refused, with its reply. */
export interface RefusedRecipient {
  recipient: string;
  /** The reply code (550, 452 ...), or undefined when the connection failed before a reply. */
  code: number | undefined;
  /** The server's whole reply line, or the error message. */
  response: string;
}

/** One SMTP transaction that the server accepted (its final dot got a 2xx). */
export interface SentTransaction {
  /** The queue ID from the server's reply (`250 OK: queued as ID`), when it names one. */
  queueId: string | undefined;
  /** The server's reply to the final dot. */
  response: string;
  /** The recipients this transaction delivered to. */
  accepted: string[];
}

export interface SendAllResult {
  /** The Message-ID every transaction carried. */
  messageId: string;
  /** Every recipient some transaction delivered to, each once, in the order given. */
  accepted: string[];
  /** Recipients refused for good (5xx), with each reply. Never sent again. */
  rejected: RefusedRecipient[];
  /**
   * Recipients still temporarily refused when sendAll gave up (a 4xx other than a recipient cap,
   * or `maxFailures` transactions in a row that delivered nothing), with the last reply or error.
   */
  deferred: RefusedRecipient[];
  /** Every transaction that delivered, in order. */
  transactions: SentTransaction[];
  /** The per-transaction recipient limit learned from the first 452, if one was seen. */
  learnedLimit: number | undefined;
}

export interface SendAllOptions {
  /**
   * The most recipients to put in one transaction before any limit is learned (default 10,000).
   * nodemailer's client slows down quadratically with the recipients of one transaction (about 2 s
   * for 32,766, 19 s for 100,000), so a few transactions of 10,000 are much faster than one big one.
   */
  maxPerTransaction?: number;
  /**
   * Transactions in a row that may fail to deliver anyone (connection closed, 421, 4xx at the end
   * of data) before sendAll gives up and reports the rest as deferred (default 5). Each such failure
   * halves the size of the next transaction: a server that closes the connection with 421 after too
   * many refused recipients (Postfix's "too many errors") gives no count to learn from.
   */
  maxFailures?: number;
}

interface SmtpLikeError extends Error {
  code?: string;
  responseCode?: number;
  response?: string;
  command?: string;
  recipient?: string;
  rejectedErrors?: SmtpLikeError[];
}

/** The reply code that asks for the remaining recipients in another transaction. */
const TOO_MANY_RECIPIENTS = 452;

/**
 * Sends `message` to every recipient of its to/cc/bcc (or of `message.envelope`), in as many
 * transactions as the server takes. `transport` is a nodemailer transporter, or SMTP options to
 * create one (closed again when done). Never throws for refused recipients: they are values in the
 * result. Throws only when the message cannot be built.
 */
export async function sendAll(
  transport: Transporter | SMTPTransport.Options,
  message: Mail.Options,
  options: SendAllOptions = {},
): Promise<SendAllResult> {
  const ownTransport = !isTransporter(transport);
  const transporter: Transporter = isTransporter(transport)
    ? transport
    : nodemailer.createTransport(transport);
  try {
    return await sendInTransactions(transporter, message, options);
  } finally {
    if (ownTransport) transporter.close();
  }
}

function isTransporter(value: unknown): value is Transporter {
  return typeof (value as Transporter | undefined)?.sendMail === 'function';
}

async function sendInTransactions(
  transporter: Transporter,
  message: Mail.Options,
  options: SendAllOptions,
): Promise<SendAllResult> {
  const { raw, messageId, from, recipients } = await composeOnce(message);
  const maxPerTransaction = Math.max(1, Math.floor(options.maxPerTransaction ?? 10_000));
  const maxFailures = Math.max(1, Math.floor(options.maxFailures ?? 5));

  const accepted = new Set<string>();
  const rejected: RefusedRecipient[] = [];
  const deferred: RefusedRecipient[] = [];
  const transactions: SentTransaction[] = [];
  let learnedLimit: number | undefined;
  let size = maxPerTransaction;
  let failuresInARow = 0;
  let lastFailure: RefusedRecipient[] = [];

  // recipients still to send, in order (sliced, never shifted: shift is what makes long lists slow)
  let pending = recipients;
  while (pending.length > 0) {
    const batch = pending.slice(0, size);
    const rest = pending.slice(batch.length);
    const outcome = await sendTransaction(transporter, from, batch, raw);

    const again: string[] = [];
    for (const refusal of outcome.refused) {
      if (refusal.code === TOO_MANY_RECIPIENTS) again.push(refusal.recipient);
      else if (refusal.code !== undefined && refusal.code >= 500) rejected.push(refusal);
      else deferred.push(refusal);
    }
    if (outcome.delivered) {
      for (const r of outcome.delivered.accepted) accepted.add(r);
      transactions.push(outcome.delivered);
      if (again.length > 0 && learnedLimit === undefined && outcome.delivered.accepted.length > 0) {
        learnedLimit = outcome.delivered.accepted.length;
        size = Math.min(size, learnedLimit);
      }
      failuresInARow = 0;
    } else if (outcome.failure) {
      // nothing of this transaction was delivered: all of it goes again, in a smaller one
      again.push(...outcome.failure.map((f) => f.recipient));
      lastFailure = outcome.failure;
    }
    if (!outcome.delivered || outcome.delivered.accepted.length === 0) {
      failuresInARow++;
      if (outcome.failure) size = Math.max(1, Math.ceil(batch.length / 2));
      if (failuresInARow >= maxFailures) {
        const reasons = new Map(lastFailure.map((f) => [f.recipient, f]));
        const refusedAgain = new Map(outcome.refused.map((f) => [f.recipient, f]));
        for (const recipient of [...again, ...rest]) {
          const reason = refusedAgain.get(recipient) ?? reasons.get(recipient);
          deferred.push({
            recipient,
            code: reason?.code,
            response: reason?.response ?? 'not sent: earlier transactions kept failing',
          });
        }
        break;
      }
    }
    pending = again.length > 0 ? again.concat(rest) : rest;
  }

  return {
    messageId,
    accepted: recipients.filter((r) => accepted.has(r)),
    rejected,
    deferred,
    transactions,
    learnedLimit,
  };
}

interface TransactionOutcome {
  /** Set when the final dot got a 2xx. */
  delivered?: SentTransaction;
  /** Recipients refused at RCPT (each with its reply), or all of them when DATA was refused. */
  refused: RefusedRecipient[];
  /** Set when the transaction failed as a whole and temporarily: every recipient with the reason. */
  failure?: RefusedRecipient[];
}

async function sendTransaction(
  transporter: Transporter,
  from: string,
  batch: string[],
  raw: Buffer,
): Promise<TransactionOutcome> {
  try {
    const info = (await transporter.sendMail({
      envelope: { from, to: batch },
      raw,
    })) as SMTPTransport.SentMessageInfo;
    const refused = refusalsOf((info as { rejectedErrors?: SmtpLikeError[] }).rejectedErrors);
    const refusedSet = new Set(refused.map((r) => r.recipient));
    // every recipient of the batch that the server did not refuse was delivered
    for (const r of (info.rejected ?? []).map(String)) {
      if (!refusedSet.has(r)) {
        refused.push({ recipient: r, code: undefined, response: 'refused' });
        refusedSet.add(r);
      }
    }
    const response = String(info.response ?? '');
    return {
      delivered: {
        queueId: /queued as ([^\s]+)/i.exec(response)?.[1],
        response,
        accepted: batch.filter((r) => !refusedSet.has(r)),
      },
      refused,
    };
  } catch (caught) {
    const err = caught as SmtpLikeError;
    if (err.code === 'EENVELOPE' && err.rejectedErrors && err.rejectedErrors.length > 0) {
      // every recipient was refused at RCPT: each one has its own reply
      return { refused: refusalsOf(err.rejectedErrors) };
    }
    const code = err.responseCode;
    const response = err.response ?? err.message;
    if (code !== undefined && code >= 500) {
      // the message itself was refused for good (at MAIL or after the data)
      return { refused: batch.map((recipient) => ({ recipient, code, response })) };
    }
    return { refused: [], failure: batch.map((recipient) => ({ recipient, code, response })) };
  }
}

function refusalsOf(errors: SmtpLikeError[] | undefined): RefusedRecipient[] {
  return (errors ?? []).map((e) => ({
    recipient: String(e.recipient),
    code: e.responseCode,
    response: e.response ?? e.message,
  }));
}

/** Builds the message once, so that every transaction sends the same bytes and Message-ID. */
async function composeOnce(
  message: Mail.Options,
): Promise<{ raw: Buffer; messageId: string; from: string; recipients: string[] }> {
  const mail: Mail.Options = { ...message };
  if (!mail.messageId) {
    const fromAddress = firstAddress(mail.from);
    const domain = fromAddress?.split('@')[1] ?? os.hostname();
    mail.messageId = `<${randomUUID()}@${domain}>`;
  }
  const node = new MailComposer(mail).compile();
  const envelope = node.getEnvelope();
  const from =
    message.envelope?.from !== undefined
      ? String(firstAddress(message.envelope.from) ?? '')
      : envelope.from || '';
  const recipients = message.envelope?.to ? listAddresses(message.envelope.to) : dedupe(envelope.to);
  const raw = await new Promise<Buffer>((resolve, reject) =>
    node.build((err: Error | null, built: Buffer) => (err ? reject(err) : resolve(built))),
  );
  return { raw, messageId: node.messageId(), from, recipients };
}

type AddressInput = string | Mail.Address | AddressInput[] | undefined | false;

function firstAddress(value: AddressInput): string | undefined {
  return listAddresses(value)[0];
}

function listAddresses(value: AddressInput): string[] {
  if (!value) return [];
  const out: string[] = [];
  for (const item of [value].flat(Infinity as 1) as (string | Mail.Address)[]) {
    if (typeof item === 'string') {
      for (const parsed of addressparser(item, { flatten: true })) out.push(parsed.address);
    } else if (item && item.address) out.push(item.address);
  }
  return dedupe(out);
}

/** Drops repeated addresses (the second of two that differ only in case, too). */
function dedupe(addresses: string[]): string[] {
  const seen = new Set<string>();
  return addresses.filter((a) => {
    const key = a.toLowerCase();
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
