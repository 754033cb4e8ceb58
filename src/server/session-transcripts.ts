/**
 * SMTP session transcripts: what each client sent and what the relay answered, for the last N
 * sessions (a ring; `sessionTranscripts`, 0 = off). Runs of RCPT with the same reply (but for the
 * address) are folded as they happen — one step `RCPT × 32,766 → 250 OK - Recipient <…>` — so a
 * 300,000-recipient transaction costs a few hundred bytes, not 300,000 lines. Message data is not recorded (only the
 * DATA command and its replies), nor credentials: the arguments of AUTH and the lines answering a
 * 334 challenge are replaced by `***`. A session keeps at most MAX_STEPS steps; later ones are
 * counted in `omitted`.
 */

/** One command and the replies to it; `count` > 1 is a folded run of RCPT with the same reply. */
export interface TranscriptStep {
  /** What the client sent (the first of the run); undefined for the greeting. */
  command?: string;
  /** The replies, each `CODE text` as sent (a multi-line reply is one string with line breaks). */
  replies: string[];
  /** How many commands this step stands for (1 unless a folded RCPT run). */
  count: number;
  /** A folded run's last command and the reply to it (`replies` holds the first one's). */
  lastCommand?: string;
  lastReply?: string;
  /** The SMTP-stage rule that acted at this step (its text as set): a step with one is never folded. */
  rule?: string;
}

export interface SessionTranscript {
  /** smtp-server's session ID (the `cid` of its log). */
  id: string;
  client: { address: string; port: number };
  startedAt: string;
  /** Undefined while the connection is open. */
  endedAt?: string;
  /** Queue IDs of the messages accepted in this session, in order (those within its kept steps). */
  queueIds: string[];
  steps: TranscriptStep[];
  /** Steps not kept because the session went past MAX_STEPS. */
  omitted: number;
}

/** Steps one session keeps (a long-lived connection sending many messages keeps its start). */
export const MAX_STEPS = 250;
/** Longest command text kept (a command line may be 2 KB; a transcript line need not). */
const MAX_COMMAND_TEXT = 512;

const RCPT = /^RCPT\s+TO\s*:/i;
const AUTH = /^(AUTH)\s+(\S+)(\s+\S.*)?$/i;

const isRcpt = (text: string): boolean => (text.charCodeAt(0) | 0x20) === 0x72 && RCPT.test(text);

/**
 * One session being recorded; the connection calls it as commands come and replies go out. An
 * RCPT becomes a step only when its reply comes, and then usually just adds one to the run before
 * it — the path 32,766 RCPT take, kept to a string and a comparison each.
 */
export class TranscriptRecorder {
  /** Set when the ring has dropped this session: recording stops. */
  dropped = false;
  /** An RCPT waiting for its reply. */
  private rcpt: string | undefined;
  /** The last step's fold key (`code text-up-to-the-address`), when it is an answered RCPT. */
  private lastKey: string | undefined;
  private challenged = false;
  /** An SMTP-stage rule that acted: it marks the step its reply (or the close) lands in. */
  private pendingRule: string | undefined;

  constructor(readonly transcript: SessionTranscript) {}

  /** An SMTP-stage rule acts now (it replies, delays or disconnects at the step under way). */
  rule(source: string): void {
    if (this.dropped || this.transcript.omitted > 0) return;
    this.pendingRule = source;
  }

  /** A command line as it came (`text`: the line as latin1, when the caller has it already). */
  command(line: Buffer, text = line.toString('latin1')): void {
    if (this.dropped) return;
    if (this.transcript.omitted > 0) {
      this.transcript.omitted++;
      return;
    }
    if (this.challenged) text = '***';
    else if ((text.charCodeAt(0) | 0x20) === 0x61) {
      const auth = AUTH.exec(text);
      if (auth) text = `${auth[1]} ${auth[2]}${auth[3] ? ' ***' : ''}`;
    }
    if (text.length > MAX_COMMAND_TEXT) text = `${text.slice(0, MAX_COMMAND_TEXT)}… (${line.length} bytes)`;
    this.flushRcpt();
    if (isRcpt(text)) this.rcpt = text;
    else this.push({ command: text, replies: [], count: 1 });
  }

  reply(code: number, text: string | string[]): void {
    if (this.dropped || this.transcript.omitted > 0) return;
    this.challenged = code === 334;
    const steps = this.transcript.steps;
    if (this.rcpt !== undefined && typeof text === 'string') {
      const command = this.rcpt;
      this.rcpt = undefined;
      const cut = text.indexOf('<');
      const key = `${code} ${cut < 0 ? text : text.slice(0, cut)}`;
      const rendered = `${code} ${text}`;
      const last = steps[steps.length - 1];
      if (last && key === this.lastKey && this.pendingRule === undefined) {
        last.count++;
        last.lastCommand = command;
        last.lastReply = rendered;
        return;
      }
      const ruled = this.pendingRule !== undefined;
      this.push({ command, replies: [rendered], count: 1 });
      // a run does not continue past a rule's step
      this.lastKey = ruled ? undefined : key;
      return;
    }
    this.flushRcpt();
    const lines = Array.isArray(text) ? text : [text];
    const rendered = lines.map((l, i) => `${code}${i < lines.length - 1 ? '-' : ' '}${l}`).join('\n');
    const step = steps[steps.length - 1];
    const open = step?.command !== undefined && (step.replies.length === 0 || /^DATA\b/i.test(step.command));
    if (step && open) {
      step.replies.push(rendered);
      this.markRule(step);
    }
    // a reply to no command (the greeting, a 421 at timeout) is a step of its own
    else this.push({ replies: [rendered], count: 1 });
  }

  /** A message of this session was queued (kept while the session's steps are: bounded too). */
  queued(queueId: string): void {
    if (!this.dropped && this.transcript.omitted === 0) this.transcript.queueIds.push(queueId);
  }

  end(): void {
    this.flushRcpt();
    // a rule that closed the connection: it marks the last step
    const last = this.transcript.steps[this.transcript.steps.length - 1];
    if (last && this.transcript.omitted === 0) this.markRule(last);
    this.transcript.endedAt ??= new Date().toISOString();
  }

  private markRule(step: TranscriptStep): void {
    if (this.pendingRule === undefined) return;
    step.rule = this.pendingRule;
    this.pendingRule = undefined;
  }

  /** An RCPT that got no reply of its own (the connection closed) is still a step. */
  private flushRcpt(): void {
    if (this.rcpt === undefined) return;
    const command = this.rcpt;
    this.rcpt = undefined;
    this.push({ command, replies: [], count: 1 });
  }

  private push(step: TranscriptStep): void {
    this.lastKey = undefined;
    const steps = this.transcript.steps;
    if (steps.length >= MAX_STEPS) {
      this.transcript.omitted++;
      return;
    }
    steps.push(step);
    this.markRule(step);
  }
}

/** The last `capacity` sessions. */
export class SessionTranscripts {
  private readonly ring: TranscriptRecorder[] = [];

  constructor(readonly capacity: number) {}

  /** Starts recording a session; undefined when transcripts are off. */
  open(id: string, client: { address: string; port: number }): TranscriptRecorder | undefined {
    if (this.capacity <= 0) return undefined;
    const recorder = new TranscriptRecorder({
      id,
      client,
      startedAt: new Date().toISOString(),
      queueIds: [],
      steps: [],
      omitted: 0,
    });
    this.ring.push(recorder);
    if (this.ring.length > this.capacity) this.ring.shift()!.dropped = true;
    return recorder;
  }

  /** Up to `limit` sessions, newest first. */
  list(limit = this.capacity): SessionTranscript[] {
    return this.ring
      .slice(-limit)
      .reverse()
      .map((r) => r.transcript);
  }

  get(id: string): SessionTranscript | undefined {
    return this.ring.find((r) => r.transcript.id === id)?.transcript;
  }
}
