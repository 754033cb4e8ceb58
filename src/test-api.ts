/**
 * The test API: `import { startRelay } from 'ims-relay'` starts an isolated relay for one test —
 * its own temporary spool, SMTP and HTTP on free loopback ports, capture mode, no log output —
 * with helpers to read what it captured and logged, wait for mail and events, and change the
 * failure rules while it runs.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { summarizeMail } from './message/parse-mail.js';
import { resolveConfig, unknownSettings, type RawSettings, type RelayConfig } from './config/relay-config.js';
import type { MailFilter } from './store/mail-filter.js';
import { viewMessage, type AttachmentInfo, type HeaderLine } from './store/message-view.js';
import { parseFailureRule, type FailureRule } from './config/failure-rules.js';
import { parseSmtpStageRules } from './config/smtp-stage-rule.js';
import type { RelayEvent } from './events/event-log.js';
import { runRelay } from './relay.js';
import type { SessionTranscript } from './server/session-transcripts.js';

export type { SessionTranscript, TranscriptStep } from './server/session-transcripts.js';

/** Settings for the test relay: any key of the README's settings table (config-file form). */
export type TestRelayOptions = Partial<Record<keyof RelayConfig, string | number | boolean | string[]>>;

/** A message captured in the message store (capture mode): one per message, however many recipients. */
export interface CapturedMessage {
  /** The store's message ID (`GET /api/v1/mail/{id}`). */
  id: string;
  /** The first envelope recipient, lower case (a mailbox is every message naming an address). */
  mailbox: string;
  /** Every envelope recipient, as given. */
  recipients: string[];
  /** The envelope sender (`Return-Path:`). */
  sender: string;
  queueId: string | undefined;
  subject: string | undefined;
  from: string | undefined;
  to: string | undefined;
  text: string | undefined;
  html: string | undefined;
  attachments: AttachmentInfo[];
  /** The message's header lines, in order. */
  headers: HeaderLine[];
  /** The whole message as stored (the store's `Return-Path:` and `Delivered-To:` lines first). */
  raw: Buffer;
  /** Path of the message file. */
  file: string;
}

export interface WaitOptions {
  /** Milliseconds to wait before rejecting (default 10,000). */
  timeout?: number;
}

export interface TestRelay {
  smtpPort: number;
  /** The admin API's port (the API runs on 127.0.0.1). */
  httpPort: number;
  spoolDir: string;
  /** Every message captured so far (or those matching `filter`), oldest first. */
  messages(filter?: MailFilter): Promise<CapturedMessage[]>;
  /** Deletes the captured messages matching `filter` (all without one); resolves with how many. */
  deleteMessages(filter?: MailFilter): Promise<number>;
  /** Every event logged so far. */
  events(): RelayEvent[];
  /** Resolves with the first captured message that matches, waiting for it if needed. */
  waitForMessage(predicate: (m: CapturedMessage) => boolean, options?: WaitOptions): Promise<CapturedMessage>;
  /** Resolves with the first event with this ID (see docs/events.md), waiting for it if needed. */
  waitForEvent(id: number, options?: WaitOptions): Promise<RelayEvent>;
  /** Transcripts of the last SMTP sessions (newest first): what the client sent, what the relay answered. */
  sessions(): SessionTranscript[];
  /** Replaces the failure rules, e.g. `['*@bounce.test=550 5.1.1 User unknown']`. */
  setFailureRules(rules: string[]): void;
  /**
   * Replaces the SMTP-stage rules, e.g. `['rcpt:*@nouser.test=550 5.1.1 User unknown']`: the relay
   * answers that at that moment of the dialogue (docs/testing.md).
   */
  setSmtpRules(rules: string[]): void;
  /** Stops the relay and removes its temporary spool (unless a spool was given). */
  stop(): Promise<void>;
}

const silent = () => new Writable({ write: (_c, _e, cb) => cb() });

export async function startRelay(options: TestRelayOptions = {}): Promise<TestRelay> {
  // a misspelt key (`maxRecipent: 3`) is refused as the config file refuses it, not ignored
  const unknown = unknownSettings(Object.keys(options), 'startRelay options');
  if (unknown) throw new Error(`ims-relay: ${unknown}`);
  const ownSpool = options.spool === undefined;
  const spoolDir = ownSpool ? fs.mkdtempSync(path.join(os.tmpdir(), 'ims-relay-')) : String(options.spool);
  try {
    return await startOn(spoolDir, ownSpool, options);
  } catch (err) {
    // a bad option, a busy port …: leave no temporary spool behind
    if (ownSpool) fs.rmSync(spoolDir, { recursive: true, force: true });
    throw err;
  }
}

async function startOn(spoolDir: string, ownSpool: boolean, options: TestRelayOptions): Promise<TestRelay> {
  const flags: RawSettings = {
    smtp: '127.0.0.1:0',
    http: '127.0.0.1:0',
    mode: 'capture',
    logLevel: 'silent',
    pickupInterval: '100ms',
  };
  for (const [key, value] of Object.entries(options)) {
    (flags as Record<string, unknown>)[key] = Array.isArray(value) ? value : String(value);
  }
  flags.spool = spoolDir;
  const resolved = resolveConfig({ flags });
  if (!resolved.ok) throw new Error(`ims-relay: ${resolved.message}`);
  const started = await runRelay(resolved.config, { destination: silent(), stderr: silent() });
  if (!started.ok) throw new Error(`ims-relay: ${started.message}`);
  const relay = started.relay;

  const seen: RelayEvent[] = [];
  const waiters = new Set<() => void>();
  relay.events.subscribe((e) => {
    seen.push(e);
    for (const w of waiters) w();
  });

  const store = relay.store;
  // a captured message never changes: each is parsed once (waits look every 50 ms)
  const parsed = new Map<string, CapturedMessage>();
  store.onDeleted((ids) => ids.forEach((id) => parsed.delete(id)));
  const messages = async (filter: MailFilter = {}): Promise<CapturedMessage[]> => {
    const found: CapturedMessage[] = [];
    for (const row of store.index.all(filter)) {
      const known = parsed.get(row.id);
      if (known) {
        found.push(known);
        continue;
      }
      const raw = store.read(row.id);
      if (!raw) continue; // deleted meanwhile
      const own = store.messageIn(row.id, raw);
      const [{ subject, from, to, text }, view] = await Promise.all([summarizeMail(own), viewMessage(own)]);
      const recipients = store.index.recipients(row.seq, 0, Number.MAX_SAFE_INTEGER);
      const message: CapturedMessage = {
        id: row.id,
        mailbox: (recipients[0] ?? '').toLowerCase(),
        recipients,
        sender: row.sender,
        queueId: row.queueId,
        subject,
        from,
        to,
        text,
        html: view.html,
        attachments: view.attachments,
        headers: view.headers,
        raw,
        file: store.fileOf(row.id),
      };
      parsed.set(row.id, message);
      found.push(message);
    }
    return found;
  };

  /** Calls `check` on every event (and every `pollMs`) until it yields a value or time runs out. */
  const waitUntil = <T>(
    what: string,
    check: () => Promise<T | undefined> | T | undefined,
    timeout: number,
    pollMs: number,
  ) =>
    new Promise<T>((resolve, reject) => {
      let settled = false;
      const finish = (err: Error | undefined, value?: T) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        clearInterval(poll);
        waiters.delete(tryNow);
        if (err) reject(err);
        else resolve(value as T);
      };
      const tryNow = () => {
        Promise.resolve(check()).then(
          (v) => v !== undefined && finish(undefined, v),
          (err: Error) => finish(err),
        );
      };
      const timer = setTimeout(
        () => finish(new Error(`ims-relay: timed out after ${timeout} ms waiting for ${what}`)),
        timeout,
      );
      const poll = setInterval(tryNow, pollMs);
      waiters.add(tryNow);
      tryNow();
    });

  return {
    smtpPort: relay.smtp.port,
    httpPort: relay.http?.port ?? 0,
    spoolDir,
    messages,
    deleteMessages: async (filter = {}) => (await store.deleteMatching(filter)).length,
    events: () => [...seen],
    sessions: () => structuredClone(relay.transcripts.list()),
    waitForMessage: (predicate, opts = {}) =>
      waitUntil(
        'a matching message',
        async () => (await messages()).find(predicate),
        opts.timeout ?? 10_000,
        50,
      ),
    waitForEvent: (id, opts = {}) =>
      waitUntil(`event ${id}`, () => seen.find((e) => e.id === id), opts.timeout ?? 10_000, 1000),
    setFailureRules: (rules) => {
      const parsed: FailureRule[] = rules.map((source) => {
        const rule = parseFailureRule(source);
        if (typeof rule === 'string') throw new Error(`ims-relay: ${rule}`);
        return rule;
      });
      relay.setFailureRules(parsed);
    },
    setSmtpRules: (rules) => {
      const parsed = parseSmtpStageRules(rules);
      if (typeof parsed === 'string') throw new Error(`ims-relay: ${parsed}`);
      relay.setSmtpRules(parsed);
    },
    stop: async () => {
      await relay.stop();
      if (ownSpool) fs.rmSync(spoolDir, { recursive: true, force: true });
    },
  };
}
