/**
 * Issue 14 item 14, the documentation side: every relative link in README.md and docs/ points to a
 * file a clone has, the test API table shows which members are async, and no page says the ims
 * profile answers relay denials with an enhanced status code it does not send.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { REPLIES, replyText } from '../src/server/replies.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const pages = ['README.md', ...fs.readdirSync(path.join(ROOT, 'docs')).map((f) => `docs/${f}`)].filter((f) =>
  f.endsWith('.md'),
);
const read = (page: string) => fs.readFileSync(path.join(ROOT, page), 'utf8');

describe('documentation', () => {
  it('links only to files inside the repository', () => {
    const broken: string[] = [];
    for (const page of pages) {
      for (const m of read(page).matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = m[1]!.split('#')[0]!;
        if (!target || /^[a-z]+:/i.test(target)) continue; // a URL or a fragment only
        const file = path.resolve(ROOT, path.dirname(page), target);
        if (!file.startsWith(ROOT + path.sep) || !fs.existsSync(file)) broken.push(`${page}: ${m[1]}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('shows the test API members that return promises with await', () => {
    const readme = read('README.md');
    expect(readme).toMatch(/^\| `await messages\(\)` +\|/m);
    expect(readme).not.toMatch(/^\| `messages\(\)` +\|/m);
  });

  it('gives the ims profile’s relay denial as the relay sends it', () => {
    const ims = `${REPLIES.relayDenied.code} ${replyText('ims', REPLIES.relayDenied)}`;
    expect(ims).toBe('554 Relay access denied');
    for (const page of pages) {
      for (const line of read(page).split('\n')) {
        if (line.includes('554 5.7.1 Relay access denied'))
          expect({ page, line }).toEqual({ page, line: expect.stringMatching(/rfc/) });
      }
    }
  });
});
