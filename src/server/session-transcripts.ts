/**
 * SMTP session transcripts: what each client sent and what the relay answered, for the last N
 * sessions (a ring; `sessionTranscripts`, 0 = off). Runs of RCPT with the same reply are folded
 * as they happen — one step `RCPT × 32,766 → 250 OK - Recipient <…>` — so a 300,000-recipient
 * transaction costs a few hundred bytes, not 300,000 lines. Message data is not recorded (only the
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
}

export interface SessionTranscript {
  /** smtp-server's session ID (the `cid` of its log). */
  id: string;
  client: { address: string; port: number };
  startedAt: string;
  /** Undefined while the connection is open. */
  endedAt?: string;
  /** Queue IDs of the messages accepted in this session, in order. */
  queueIds: string[];
  steps: TranscriptStep[];
  /** Steps not kept because the session went past MAX_STEPS. */
  omitted: number;
}

/** Steps one session keeps (a long-lived connection sending many messages keeps its start). */
export const MAX_STEPS = 500;
/** Longest command text kept (a command line may be 2 KB; a transcript line need not). */
const MAX_COMMAND_TEXT = 512;

const RCPT = /^RCPT\s+TO\s*:/i;
const AUTH = /^(AUTH)\s+(\S+)(\s+\S.*)?$/i;
/** `OK - Recipient <a@b>` and friends: the address in angle brackets is what differs in a run. */
const ADDRESS_IN_REPLY = /<[^<>]*>/g;

/** One session being recorded; the connection calls it as commands come and replies go out. */
export class TranscriptRecorder {
  /** Set when the ring has dropped this session: recording stops. */
  dropped = false;
  /** The fold key of the last step (an answered RCPT), and of the step before it. */
  private lastKey: string | undefined;
  private runKey: string | undefined;
  private challenged = false;

  constructor(readonly transcript: SessionTranscript) {}

  command(line: Buffer): void {
    if (this.dropped) return;
    let text = line.toString('latin1');
    if (this.challenged) text = '***';
    else {
      const auth = AUTH.exec(text);
      if (auth) text = `${auth[1]} ${auth[2]}${auth[3] ? ' ***' : ''}`;
    }
    if (text.length > MAX_COMMAND_TEXT) text = `${text.slice(0, MAX_COMMAND_TEXT)}… (${line.length} bytes)`;
    this.push({ command: text, replies: [], count: 1 });
  }

  reply(code: number, text: string | string[]): void {
    if (this.dropped) return;
    this.challenged = code === 334;
    const lines = Array.isArray(text) ? text : [text];
    const rendered = lines.map((l, i) => `${code}${i < lines.length - 1 ? '-' : ' '}${l}`).join('\n');
    if (this.transcript.omitted > 0) return; // the command it answers was not kept either
    const steps = this.transcript.steps;
    const step = steps[steps.length - 1];
    const open = step?.command !== undefined && (step.replies.length === 0 || /^DATA\b/i.test(step.command));
    if (!step || !open) {
      // a reply to no command (the greeting, a 421 at timeout) is a step of its own
      this.push({ replies: [rendered], count: 1 });
      return;
    }
    step.replies.push(rendered);
    if (step.replies.length > 1 || !RCPT.test(step.command!)) return;
    // an answered RCPT joins the run before it when the reply is the same but for the address
    const key = `${code} ${lines.join(' ').replace(ADDRESS_IN_REPLY, '<…>')}`;
    const previous = steps[steps.length - 2];
    if (previous && this.runKey === key) {
      steps.pop();
      previous.count++;
      previous.lastCommand = step.command;
      previous.lastReply = rendered;
    }
    this.lastKey = key;
  }

  queued(queueId: string): void {
    if (!this.dropped) this.transcript.queueIds.push(queueId);
  }

  end(): void {
    this.transcript.endedAt ??= new Date().toISOString();
  }

  private push(step: TranscriptStep): void {
    const steps = this.transcript.steps;
    if (steps.length >= MAX_STEPS) {
      this.transcript.omitted++;
      return;
    }
    this.runKey = this.lastKey;
    this.lastKey = undefined;
    steps.push(step);
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
