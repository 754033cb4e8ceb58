/**
 * Relay mode's next hop: sends a message on with nodemailer's SMTP client, at most
 * `maxRecipients` per transaction. Recipients the upstream answers with 452 (too many recipients,
 * RFC 5321 §4.5.3.1.10) are sent at once in the next transaction: no failure, no back-off. Every
 * outcome comes back as a value per recipient: delivered, temporary (4xx, or the upstream could
 * not be reached) or permanent (5xx).
 */
import nodemailer, { type Transporter } from 'nodemailer';
import { dnsCache } from 'nodemailer/lib/shared';
import type { RecipientAttempt } from './delivery-result.js';
import { statusOfReply } from './delivery-result.js';

export interface UpstreamSettings {
  url: string;
  maxRecipients: number;
  tlsVerify: boolean;
  /** Our name in EHLO. */
  hostname: string;
  maxConnections: number;
  /** Milliseconds the upstream may stay silent. */
  timeoutMs: number;
}

interface SmtpError extends Error {
  code?: string;
  responseCode?: number;
  response?: string;
  rejected?: string[];
  rejectedErrors?: SmtpError[];
  recipient?: string;
}

const CONNECTION_ERRORS = new Set(['ECONNECTION', 'ETIMEDOUT', 'ESOCKET', 'EDNS', 'ECONNREFUSED', 'ETLS']);

export class UpstreamClient {
  private readonly transport: Transporter;
  /** The upstream's host name, as in DSN Remote-MTA fields. */
  readonly host: string;
  /** HOST:PORT, for events and messages. */
  readonly address: string;

  constructor(private readonly settings: UpstreamSettings) {
    const url = new URL(settings.url);
    this.host = url.hostname;
    this.address = `${url.hostname}:${Number(url.port) || (url.protocol === 'smtps:' ? 465 : 25)}`;
    this.transport = nodemailer.createTransport({
      host: url.hostname,
      port: Number(url.port) || (url.protocol === 'smtps:' ? 465 : 25),
      secure: url.protocol === 'smtps:',
      ...(url.username
        ? { auth: { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) } }
        : {}),
      name: settings.hostname,
      pool: true,
      maxConnections: settings.maxConnections,
      maxMessages: Infinity,
      tls: { rejectUnauthorized: settings.tlsVerify },
      connectionTimeout: settings.timeoutMs,
      greetingTimeout: settings.timeoutMs,
      socketTimeout: settings.timeoutMs,
    });
  }

  /**
   * Sends to every recipient; `record` is called with the outcomes of each transaction as soon as
   * it is over, so they can be made durable before the next one.
   */
  async send(
    sender: string,
    recipients: string[],
    message: Buffer,
    record: (attempts: RecipientAttempt[]) => Promise<void>,
    /** Checked between transactions: true ends the delivery early (the rest stays pending). */
    stopping: () => boolean = () => false,
  ): Promise<{ reachable: boolean }> {
    let reachable = true;
    let queue = [...recipients];
    while (queue.length > 0 && !stopping()) {
      const batch = queue.slice(0, this.settings.maxRecipients);
      queue = queue.slice(batch.length);
      const result = await this.transaction(sender, batch, message);
      reachable &&= result.reachable;
      const attempts = [...result.attempts];
      // 452 "too many recipients": the upstream takes the rest in the next transaction, at once
      if (result.retryNow.length > 0 && result.retryNow.length < batch.length)
        queue = [...result.retryNow, ...queue];
      else
        for (const address of result.retryNow) {
          attempts.push({
            kind: 'temporary',
            address,
            status: '4.5.3',
            diagnostic: 'upstream refused every recipient of the transaction with 452',
            remoteMta: this.host,
          });
        }
      await record(attempts);
    }
    return { reachable };
  }

  private async transaction(
    sender: string,
    batch: string[],
    message: Buffer,
  ): Promise<{ attempts: RecipientAttempt[]; retryNow: string[]; reachable: boolean }> {
    const remoteMta = this.host;
    const refusals = (errors: SmtpError[] | undefined, rejected: string[]) => {
      const attempts: RecipientAttempt[] = [];
      const retryNow: string[] = [];
      for (const address of rejected) {
        const err = errors?.find((e) => e.recipient === address);
        const code = err?.responseCode ?? 550;
        const response = err?.response ?? `${code} rejected`;
        if (code === 452) retryNow.push(address);
        else
          attempts.push({
            kind: code >= 500 ? 'permanent' : 'temporary',
            address,
            status: statusOfReply(response, code),
            diagnostic: response,
            remoteMta,
          });
      }
      return { attempts, retryNow };
    };
    try {
      const info = await this.transport.sendMail({ envelope: { from: sender, to: batch }, raw: message });
      const accepted = (info.accepted as string[]).map(String);
      const refused = refusals(
        (info as unknown as { rejectedErrors?: SmtpError[] }).rejectedErrors,
        (info.rejected as string[]).map(String),
      );
      return {
        attempts: [
          ...accepted.map((address): RecipientAttempt => ({
            kind: 'delivered',
            address,
            status: '2.0.0',
            diagnostic: info.response ?? '250 accepted',
            remoteMta,
          })),
          ...refused.attempts,
        ],
        retryNow: refused.retryNow,
        reachable: true,
      };
    } catch (e) {
      const err = e as SmtpError;
      if (err.code === 'EENVELOPE' && err.rejected && err.rejected.length > 0) {
        // every recipient refused (or the sender was): per recipient where the upstream said so
        const refused = refusals(err.rejectedErrors, err.rejected.map(String));
        const named = new Set(err.rejected.map(String));
        const rest = batch.filter((a) => !named.has(a));
        return {
          attempts: [...refused.attempts, ...rest.map((a) => failure(a, err, remoteMta))],
          retryNow: refused.retryNow,
          reachable: true,
        };
      }
      const unreachable = !err.responseCode && CONNECTION_ERRORS.has(err.code ?? '');
      // nodemailer keeps resolved addresses for 5 minutes: after a failed connection, resolve
      // again next time (an upstream container that restarted may have a new address)
      if (unreachable) dnsCache.delete(this.host);
      return {
        attempts: batch.map((a) => failure(a, err, remoteMta)),
        retryNow: [],
        reachable: !unreachable,
      };
    }
  }

  close(): void {
    this.transport.close();
  }
}

function failure(address: string, err: SmtpError, remoteMta: string): RecipientAttempt {
  if (err.code === 'EAUTH') {
    // our credentials were refused: a configuration problem of the relay, not the recipient's
    const response = err.response ?? err.message;
    return {
      kind: 'temporary',
      address,
      status: '4.7.0',
      diagnostic: `upstream ${remoteMta} refused the login: ${response}`,
      remoteMta,
    };
  }
  if (err.responseCode) {
    const response = err.response ?? `${err.responseCode} ${err.message}`;
    return {
      kind: err.responseCode >= 500 ? 'permanent' : 'temporary',
      address,
      status: statusOfReply(response, err.responseCode),
      diagnostic: response,
      remoteMta,
    };
  }
  return {
    kind: 'temporary',
    address,
    status: '4.4.1',
    diagnostic: `upstream ${remoteMta}: ${err.message}`,
    remoteMta,
  };
}
