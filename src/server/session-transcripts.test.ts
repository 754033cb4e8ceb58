import { describe, expect, it } from 'vitest';
import { MAX_STEPS, SessionTranscripts } from './session-transcripts.js';

const line = (s: string) => Buffer.from(s, 'latin1');

describe('session transcripts', () => {
  it('folds runs of RCPT with the same reply, keeps the others apart, and attaches DATA replies', () => {
    const ring = new SessionTranscripts(5);
    const r = ring.open('s1', { address: '127.0.0.1', port: 1025 })!;
    r.reply(220, 'relay.test ESMTP ims-relay ready');
    r.command(line('EHLO client'));
    r.reply(250, ['relay.test Nice to meet you', 'PIPELINING']);
    r.command(line('MAIL FROM:<a@x>'));
    r.reply(250, 'Accepted');
    for (let i = 1; i <= 5; i++) {
      r.command(line(`RCPT TO:<u${i}@x>`));
      r.reply(250, `OK - Recipient <u${i}@x>`);
    }
    for (let i = 6; i <= 8; i++) {
      r.command(line(`RCPT TO:<u${i}@x>`));
      r.reply(452, 'Requested action not taken: Exceed Recipient Limit');
    }
    r.command(line('RCPT TO:bad'));
    r.reply(501, 'Bad recipient address syntax');
    r.command(line('RCPT TO:<u9@x>'));
    r.reply(452, 'Requested action not taken: Exceed Recipient Limit');
    r.command(line('DATA'));
    r.reply(354, 'End data with <CR><LF>.<CR><LF>');
    r.queued('Q1');
    r.reply(250, 'OK: queued as Q1');
    r.command(line('QUIT'));
    r.reply(221, 'Bye');
    r.end();
    const [t] = ring.list();
    expect(t!.queueIds).toEqual(['Q1']);
    expect(t!.endedAt).toBeDefined();
    expect(t!.steps).toEqual([
      { replies: ['220 relay.test ESMTP ims-relay ready'], count: 1 },
      { command: 'EHLO client', replies: ['250-relay.test Nice to meet you\n250 PIPELINING'], count: 1 },
      { command: 'MAIL FROM:<a@x>', replies: ['250 Accepted'], count: 1 },
      {
        command: 'RCPT TO:<u1@x>',
        replies: ['250 OK - Recipient <u1@x>'],
        count: 5,
        lastCommand: 'RCPT TO:<u5@x>',
        lastReply: '250 OK - Recipient <u5@x>',
      },
      {
        command: 'RCPT TO:<u6@x>',
        replies: ['452 Requested action not taken: Exceed Recipient Limit'],
        count: 3,
        lastCommand: 'RCPT TO:<u8@x>',
        lastReply: '452 Requested action not taken: Exceed Recipient Limit',
      },
      { command: 'RCPT TO:bad', replies: ['501 Bad recipient address syntax'], count: 1 },
      {
        command: 'RCPT TO:<u9@x>',
        replies: ['452 Requested action not taken: Exceed Recipient Limit'],
        count: 1,
      },
      { command: 'DATA', replies: ['354 End data with <CR><LF>.<CR><LF>', '250 OK: queued as Q1'], count: 1 },
      { command: 'QUIT', replies: ['221 Bye'], count: 1 },
    ]);
  });

  it('never records credentials', () => {
    const ring = new SessionTranscripts(1);
    const r = ring.open('s', { address: '::1', port: 1 })!;
    r.command(line('AUTH PLAIN AGFsaWNlAHNlY3JldA=='));
    r.reply(235, 'Authentication successful');
    r.command(line('AUTH LOGIN'));
    r.reply(334, 'VXNlcm5hbWU6');
    r.command(line('YWxpY2U='));
    r.reply(334, 'UGFzc3dvcmQ6');
    r.command(line('c2VjcmV0'));
    r.reply(235, 'Authentication successful');
    r.command(line('NOOP'));
    r.reply(250, 'OK');
    const commands = ring.list()[0]!.steps.map((s) => s.command);
    expect(commands).toEqual(['AUTH PLAIN ***', 'AUTH LOGIN', '***', '***', 'NOOP']);
    expect(JSON.stringify(ring.list())).not.toMatch(/AGFsaWNl|YWxpY2U|c2VjcmV0/);
  });

  it('keeps the last N sessions and stops recording a dropped one; 0 records nothing', () => {
    const ring = new SessionTranscripts(2);
    const first = ring.open('a', { address: '1', port: 1 })!;
    ring.open('b', { address: '2', port: 2 });
    ring.open('c', { address: '3', port: 3 });
    expect(ring.list().map((t) => t.id)).toEqual(['c', 'b']);
    expect(ring.get('a')).toBeUndefined();
    first.command(line('NOOP'));
    expect(first.transcript.steps).toHaveLength(0);
    expect(new SessionTranscripts(0).open('x', { address: '', port: 0 })).toBeUndefined();
  });

  it('bounds one session to MAX_STEPS steps and counts the rest', () => {
    const ring = new SessionTranscripts(1);
    const r = ring.open('s', { address: '1', port: 1 })!;
    for (let i = 0; i < MAX_STEPS + 10; i++) {
      r.command(line('NOOP'));
      r.reply(250, 'OK');
    }
    r.queued('LATE'); // its steps are not kept, nor is its queue ID
    const t = ring.list()[0]!;
    expect(t.queueIds).toEqual([]);
    expect(t.steps).toHaveLength(MAX_STEPS);
    expect(t.omitted).toBe(10);
    expect(t.steps.every((s) => s.replies.length === 1)).toBe(true);
  });

  it('cuts a long command line', () => {
    const ring = new SessionTranscripts(1);
    const r = ring.open('s', { address: '1', port: 1 })!;
    r.command(line('X'.repeat(2000)));
    expect(ring.list()[0]!.steps[0]!.command).toMatch(/^X{512}… \(2000 bytes\)$/);
  });
});
