/**
 * A spool from a version that captured into `<spool>/mailboxes/<address>/new/` (hard links named
 * `<seconds>.<queue id>.<host>`) is imported into the message store at the first start, once.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { startRelay } from '../src/test-api.js';
import { tempDir } from './helpers/test-relay.js';
import { waitFor } from './helpers/wait-for.js';

const eventsInFile = (spool: string): { id: number; data?: Record<string, unknown> }[] => {
  const file = path.join(spool, 'log', 'events.jsonl');
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { id: number; data?: Record<string, unknown> });
};

describe('migration of old capture-mode Maildirs', () => {
  it('imports each message once, its recipients the mailboxes that held it, with event 1134', async () => {
    const spool = tempDir();
    const q = '19A9D54B1F0-00003-7C1E';
    const name = `1764000000.${q}.old-relay.test`;
    const boxes = ['alice@example.test', '%C3%BCmlaut@example.test'];
    for (const box of boxes)
      for (const sub of ['tmp', 'new', 'cur'])
        fs.mkdirSync(path.join(spool, 'mailboxes', box, sub), { recursive: true });
    const first = path.join(spool, 'mailboxes', boxes[0]!, 'new', name);
    fs.writeFileSync(first, 'From: old@example.test\r\nSubject: from before\r\n\r\nkept\r\n');
    fs.linkSync(first, path.join(spool, 'mailboxes', boxes[1]!, 'new', name));
    fs.writeFileSync(path.join(spool, 'mailboxes', boxes[0]!, 'new', 'not-a-maildir-name'), 'ignored');

    let relay = await startRelay({ spool });
    try {
      const [m, ...rest] = await relay.messages();
      expect(rest).toEqual([]);
      expect(m).toMatchObject({
        queueId: q,
        subject: 'from before',
        recipients: ['ümlaut@example.test', 'alice@example.test'], // in folder-name order,
      });
      // logged at start, before the test API listens: read from the events file
      const logged = await waitFor('event 1134 in the events file', () =>
        eventsInFile(spool).find((e) => e.id === 1134),
      );
      expect(logged.data).toMatchObject({ messages: 1, links: 2 });
      const [summary] = (
        (await (await fetch(`http://127.0.0.1:${relay.httpPort}/api/v1/mail`)).json()) as {
          messages: { date: string }[];
        }
      ).messages;
      expect(summary!.date).toBe(new Date(1764000000 * 1000).toISOString()); // its old arrival time
    } finally {
      await relay.stop();
    }
    expect(fs.existsSync(first)).toBe(true); // the old folder is left as it was

    relay = await startRelay({ spool });
    try {
      expect(await relay.messages()).toHaveLength(1);
      await waitFor(
        'the second start logged',
        () => eventsInFile(spool).filter((e) => e.id === 1000).length === 2,
      );
      expect(eventsInFile(spool).filter((e) => e.id === 1134)).toHaveLength(1);
    } finally {
      await relay.stop();
      fs.rmSync(spool, { recursive: true, force: true });
    }
  });
});
