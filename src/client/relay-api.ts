/**
 * A small client for a running relay's HTTP API (captured mail, failure rules, SMTP-stage rules),
 * for tests that talk to a relay they did not start in-process: a container (ImsRelayContainer),
 * `npx ims-relay serve`, a shared relay in CI. Uses the global fetch of Node 20.
 */

/** Which captured messages a call is about (the filters of GET /api/v1/mail). */
export interface MailQuery {
  /** An envelope recipient (exact address, any case). */
  to?: string;
  /** Part of the envelope sender or the From: header. */
  from?: string;
  /** Part of the subject. */
  subject?: string;
  /** Full-text words. */
  q?: string;
  /** The message's tag (SMTP AUTH user, +tag, X-Ims-Relay-Tag:). */
  tag?: string;
  /** Captured at or after: a time, ms since 1970, or a duration back from now (`10m`). */
  since?: string;
}

/** A captured message as the list and wait routes give it. */
export interface MailSummary {
  id: string;
  queueId: string;
  from: string;
  sender: string;
  subject: string;
  date: string;
  recipientCount: number;
  recipients: string[];
  tags: string[];
  [more: string]: unknown;
}

export class RelayApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

export class RelayApi {
  /** `baseUrl` like `http://127.0.0.1:8025`; `token` when the relay has an admin token. */
  constructor(
    readonly baseUrl: string,
    private readonly token?: string,
  ) {}

  /** Captured messages that match, newest first (up to `limit`, default 50). */
  async listMail(query: MailQuery = {}, limit = 50): Promise<{ total: number; messages: MailSummary[] }> {
    return this.call('GET', `/api/v1/mail?${search({ ...query, limit: String(limit) })}`);
  }

  /** The first captured message that matches, waiting up to `timeout` (default 30s) for one. */
  async waitForMail(query: MailQuery = {}, timeout = '30s'): Promise<MailSummary> {
    return this.call('GET', `/api/v1/mail/wait?${search({ ...query, timeout })}`);
  }

  /** Deletes the captured messages that match (all of them when `query` is empty); returns how many. */
  async deleteMail(query: MailQuery = {}): Promise<number> {
    const { deleted } = await this.call<{ deleted: number }>(
      'DELETE',
      `/api/v1/mail?${search({ ...query })}`,
    );
    return deleted;
  }

  /** The raw message as captured. */
  async rawMail(id: string): Promise<string> {
    const response = await this.fetch('GET', `/api/v1/mail/${encodeURIComponent(id)}/raw`);
    return response.text();
  }

  /** Replaces the failure rules (at delivery), e.g. `['*@bounce.test=550 5.1.1 User unknown']`. */
  async setFailureRules(rules: string[]): Promise<void> {
    await this.call('PUT', '/api/v1/failure-rules', { rules });
  }

  /** Replaces the SMTP-stage rules, e.g. `['rcpt:*@nouser.test=550 5.1.1 User unknown']`. */
  async setSmtpRules(rules: string[]): Promise<void> {
    await this.call('PUT', '/api/v1/smtp-rules', { rules });
  }

  private async call<T>(method: string, route: string, body?: unknown): Promise<T> {
    const response = await this.fetch(method, route, body);
    return (await response.json()) as T;
  }

  private async fetch(method: string, route: string, body?: unknown): Promise<Response> {
    const headers: Record<string, string> = {};
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(new URL(route, this.baseUrl), {
      method,
      headers,
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    if (!response.ok) {
      const text = await response.text();
      let message = text;
      try {
        message = (JSON.parse(text) as { error?: string }).error ?? text;
      } catch {
        // not JSON: the text as it is
      }
      throw new RelayApiError(
        `ims-relay API ${method} ${route}: ${response.status} ${message}`,
        response.status,
      );
    }
    return response;
  }
}

function search(values: Record<string, string | undefined>): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(values)) if (v !== undefined) params.set(k, v);
  return params.toString();
}
