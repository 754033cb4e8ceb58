/**
 * The SMTP-stage rules in force (`--smtp-rule`; the rule and its syntax: config/smtp-stage-rule.ts):
 * which rule applies at this moment of the SMTP dialogue, the counts that `#N` and `first-try`
 * need, and carrying out what the rule says. Deterministic: no randomness.
 *
 * The first rule that matches a stage applies; the others are not looked at for that moment.
 */
import type { SmtpStage, SmtpStageRule } from '../config/smtp-stage-rule.js';

/** What happens at this moment: wait `delayMs`, then reply `reply`, disconnect, or go on as usual. */
export interface StageDecision {
  rule: SmtpStageRule;
  delayMs: number;
  reply?: { code: number; text: string };
  disconnect: boolean;
}

/** What a stage is about. */
export interface StageSubject {
  clientAddress: string;
  /** smtp-server's session ID, for the session transcript. */
  sessionId?: string;
  sender?: string;
  recipient?: string;
  /** At rcpt: the position of this RCPT in its transaction, from 1. */
  rcptNumber?: number;
}

/**
 * The rules in force and the counts they need (per-rule occurrences, triples seen). Replace the
 * rules with `set`; the counts start again.
 */
export class SmtpStageRules {
  private rules: readonly SmtpStageRule[] = [];
  private counts = new Map<SmtpStageRule, number>();
  private seen = new Set<string>();

  constructor(
    rules: readonly SmtpStageRule[] = [],
    /** Told about every rule that applies (the wiring turns it into an event). */
    private readonly applied: (decision: StageDecision, subject: StageSubject) => void = () => undefined,
  ) {
    this.set(rules);
  }

  set(rules: readonly SmtpStageRule[]): void {
    this.rules = [...rules];
    this.counts = new Map();
    this.seen = new Set();
  }

  /** Whether any rule is in force (the RCPT path asks this before building anything). */
  get active(): boolean {
    return this.rules.length > 0;
  }

  list(): readonly SmtpStageRule[] {
    return this.rules;
  }

  /** What to do at `stage` for `subject`, or undefined to go on as usual. */
  decide(stage: SmtpStage, subject: StageSubject): StageDecision | undefined {
    if (this.rules.length === 0) return undefined;
    const about =
      stage === 'connect'
        ? subject.clientAddress
        : stage === 'rcpt'
          ? (subject.recipient ?? '')
          : (subject.sender ?? '');
    for (const rule of this.rules) {
      if (rule.stage !== stage) continue;
      if (!rule.patterns.every((p) => p.test(about))) continue;
      if (rule.occurrence) {
        let n: number;
        if (stage === 'rcpt') n = subject.rcptNumber ?? 0;
        else {
          n = (this.counts.get(rule) ?? 0) + 1;
          this.counts.set(rule, n);
        }
        const { n: wanted, andLater } = rule.occurrence;
        if (andLater ? n < wanted : n !== wanted) continue;
      }
      if (rule.firstTry) {
        const key = [rule.source, subject.clientAddress, subject.sender ?? '', subject.recipient ?? '']
          .map((p) => p.toLowerCase())
          .join('\u0000');
        if (this.seen.has(key)) continue;
        this.seen.add(key);
      }
      const decision: StageDecision = {
        rule,
        delayMs: rule.delayMs,
        disconnect: rule.disconnect,
        ...(rule.reply ? { reply: rule.reply } : {}),
      };
      this.applied(decision, subject);
      return decision;
    }
    return undefined;
  }
}

/** Carries out a decision: waits its delay, then replies, disconnects or lets the stage go on. */
export function carryOut(
  decision: StageDecision | undefined,
  how: { proceed: () => void; reply: (code: number, text: string) => void; disconnect: () => void },
): void {
  if (!decision) return how.proceed();
  const act = () => {
    if (decision.disconnect) how.disconnect();
    else if (decision.reply) how.reply(decision.reply.code, decision.reply.text);
    else how.proceed();
  };
  if (decision.delayMs > 0) setTimeout(act, decision.delayMs);
  else act();
}
