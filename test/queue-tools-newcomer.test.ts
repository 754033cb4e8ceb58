/**
 * Issue 14 items 2, 3 and 4: the queue tools take --admin-token, a retry of a held message says it
 * is held instead of pretending, and quarantined pickup files in bad/ are listed, shown, replayed
 * and deleted like every other message there.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, startRelayProcess, type RelayProcess } from './helpers/relay-process.js';
import { SmtpSession } from './helpers/smtp-session.js';
import { tempDir } from './helpers/test-relay.js';
import { waitFor } from './helpers/wait-for.js';

async function cli(args: string[], env: Record<string, string> = {}) {
  const run = runCli(args, env);
  const code = await run.exited;
  return { code, out: run.stdout(), err: run.stderr() };
}

async function sendOne(port: number, to: string, subject: string): Promise<string> {
  const s = await SmtpSession.ready(port);
  const reply = await s.submit('<sender@example.test>', [`<${to}>`], `Subject: ${subject}\r\n\r\nbody`);
  s.close();
  return reply.split(' ').pop()!;
}

function adminUrl(spool: string): string {
  const info = JSON.parse(fs.readFileSync(path.join(spool, 'ims-relay.json'), 'utf8')) as { http: string };
  return `http://${info.http}`;
}

async function stop(relay: RelayProcess): Promise<void> {
  relay.child.kill('SIGTERM');
  await relay.exited;
}

/** Drops a pickup file the way the README says: written under another name, then renamed. */
function dropPickup(spool: string, name: string, text: string): void {
  const part = path.join(spool, 'pickup', `${name}.part`);
  fs.writeFileSync(part, text);
  fs.renameSync(part, path.join(spool, 'pickup', name));
}

describe('queue tools and a relay with an admin token', () => {
  it('item 2: every queue command takes --admin-token (and IMS_RELAY_ADMIN_TOKEN)', async () => {
    const spool = tempDir();
    const relay = await startRelayProcess(['--spool', spool, '--mode', 'hold', '--admin-token', 'tok']);
    try {
      const id = await sendOne(relay.port, 'a@example.test', 'tokens');
      const list = await cli(['queue', 'list', '--spool', spool, '--admin-token', 'tok']);
      expect(list).toMatchObject({ code: 0, err: '' });
      expect(list.out).toContain(id);

      const without = await cli(['queue', 'list', '--spool', spool]);
      expect(without.code).toBe(1);
      expect(without.err).toContain('needs a token: give --admin-token TOKEN or set IMS_RELAY_ADMIN_TOKEN');
      const wrong = await cli(['queue', 'list', '--spool', spool, '--admin-token', 'nope']);
      expect(wrong.code).toBe(1);
      expect(wrong.err).toContain('refused the token given');
      const fromEnv = await cli(['queue', 'show', id, '--spool', spool], { IMS_RELAY_ADMIN_TOKEN: 'tok' });
      expect(fromEnv.code).toBe(0);
      expect(fromEnv.out).toContain('subject:   tokens');
      for (const op of ['hold', 'release', 'retry', 'delete'])
        expect((await cli(['queue', op, id, '--spool', spool, '--admin-token', 'tok'])).code).toBe(0);
    } finally {
      await stop(relay);
    }
  });

  it('item 3: retry of a held message says it is held and how to release it; the message stays held', async () => {
    const spool = tempDir();
    const relay = await startRelayProcess(['--spool', spool, '--mode', 'hold']);
    try {
      const id = await sendOne(relay.port, 'a@example.test', 'held');
      expect((await cli(['queue', 'hold', id, '--spool', spool])).code).toBe(0);
      const retry = await cli(['queue', 'retry', id, '--spool', spool]);
      expect(retry.code).toBe(1);
      expect(retry.out).toBe('');
      expect(retry.err).toContain(
        `${id} is held, so it is not delivered: release it with \`ims-relay queue release ${id}\``,
      );
      const api = await fetch(`${adminUrl(spool)}/api/v1/messages/${id}/retry`, { method: 'POST' });
      expect(api.status).toBe(409);
      expect(((await api.json()) as { error: string }).error).toContain('is held');
      const item = JSON.parse((await cli(['queue', 'list', '--spool', spool, '--json'])).out).items[0];
      expect(item).toMatchObject({ queueId: id, held: true });
      expect((await cli(['queue', 'release', id, '--spool', spool])).code).toBe(0);
      expect((await cli(['queue', 'retry', id, '--spool', spool])).out).toContain('is due for delivery now');
    } finally {
      await stop(relay);
    }
  });
});

describe('quarantined pickup files (item 4)', () => {
  it('are listed, shown, replayed after a fix and deleted, with and without a running relay', async () => {
    const spool = tempDir();
    const relay = await startRelayProcess(['--spool', spool, '--mode', 'hold', '--pickup-interval', '100ms']);
    let bad: string;
    let qid: string;
    try {
      dropPickup(spool, 'b.eml', 'X-Sender: <app@example.test>\r\nSubject: no receiver\r\n\r\nHello.\r\n');
      bad = await waitFor('the quarantined file', () =>
        fs.readdirSync(path.join(spool, 'bad')).find((n) => n.endsWith('-b.eml')),
      );
      qid = bad.slice(0, -'-b.eml'.length);

      const list = await cli(['queue', 'list', '--folder', 'bad', '--spool', spool]);
      expect(list.code).toBe(0);
      expect(list.out).toContain('bad/: 1 message');
      expect(list.out).toMatch(
        new RegExp(`${qid} .* 0 rcpt .*app@example\\.test .*quarantined pickup file b\\.eml`),
      );
      const api = (await (await fetch(`${adminUrl(spool)}/api/v1/messages?folder=bad`)).json()) as {
        total: number;
        items: { queueId: string; pickupFile: string }[];
      };
      expect(api.total).toBe(1);
      expect(api.items[0]).toMatchObject({ queueId: qid, pickupFile: 'b.eml', source: 'pickup' });
      const show = await cli(['queue', 'show', qid, '--spool', spool]);
      expect(show.code).toBe(0);
      expect(show.out).toContain(`queue ID:  ${qid} (bad/)`);
      expect(show.out).toContain('subject:   no receiver');
      expect(show.out).toContain(`queue replay ${qid}`);
      const raw = await cli(['queue', 'show', qid, '--body', '--spool', spool]);
      expect(raw.out).toBe('X-Sender: <app@example.test>\r\nSubject: no receiver\r\n\r\nHello.\r\n');

      // the fix: add the missing X-Receiver line, then replay it through the running relay
      const file = path.join(spool, 'bad', bad);
      fs.writeFileSync(file, 'X-Receiver: <bob@example.test>\r\n' + fs.readFileSync(file, 'utf8'));
      const replay = await cli(['queue', 'replay', qid, '--spool', spool]);
      expect(replay.code).toBe(0);
      expect(replay.out).toContain(`${qid} (pickup file b.eml) put back into pickup/ as b.eml`);
      const taken = await waitFor('the replayed file in in/', async () => {
        const items = JSON.parse((await cli(['queue', 'list', '--spool', spool, '--json'])).out).items as {
          queueId: string;
          sender: string;
          recipients: number;
        }[];
        return items.find((i) => i.sender === 'app@example.test');
      });
      expect(taken.recipients).toBe(1);
      expect(fs.readdirSync(path.join(spool, 'bad'))).toEqual([]);

      // one more bad file, to delete
      dropPickup(spool, 'c.eml', 'Subject: junk\r\n\r\nx\r\n');
      bad = await waitFor('the second quarantined file', () =>
        fs.readdirSync(path.join(spool, 'bad')).find((n) => n.endsWith('-c.eml')),
      );
      qid = bad.slice(0, -'-c.eml'.length);
    } finally {
      await stop(relay);
    }
    // no relay running now: the same tools work on the files
    expect((await cli(['queue', 'list', '--folder', 'bad', '--spool', spool])).out).toContain(qid);
    const del = await cli(['queue', 'delete', qid, '--spool', spool]);
    expect(del.code).toBe(0);
    expect(del.out).toContain(`${qid} (pickup file c.eml) deleted from bad/`);
    expect(fs.readdirSync(path.join(spool, 'bad'))).toEqual([]);
    const gone = await cli(['queue', 'show', qid, '--spool', spool]);
    expect(gone.code).toBe(1);
  }, 60_000);
});
