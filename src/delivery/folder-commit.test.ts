import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FolderCommit } from './folder-commit.js';

function folders(n: number): string[] {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ims-folder-commit-'));
  return Array.from({ length: n }, (_, i) => {
    const dir = path.join(root, `box${i}`);
    fs.mkdirSync(dir);
    return dir;
  });
}

const options = { windowMs: 20, maxWaiters: 8, openFolders: 4, parallel: 2 };

describe('FolderCommit', () => {
  it('resolves with no failures once the named folders are fsynced', async () => {
    const commit = new FolderCommit(options);
    const dirs = folders(3);
    const failures = await commit.commit(dirs);
    expect(failures.size).toBe(0);
    expect(commit.fsyncs).toBe(3);
    await commit.close();
  });

  it('shares one fsync per folder among callers that wait for the same round', async () => {
    const commit = new FolderCommit({ ...options, maxWaiters: 1000 });
    const dirs = folders(5);
    // 100 deliveries into the same 5 folders within the window: one round, 5 fsyncs
    const results = await Promise.all(Array.from({ length: 100 }, () => commit.commit(dirs)));
    expect(results.every((r) => r.size === 0)).toBe(true);
    expect(commit.fsyncs).toBe(5);
    await commit.close();
  });

  it('covers a caller that arrives while a round runs with a later round', async () => {
    const commit = new FolderCommit({ ...options, windowMs: 0, maxWaiters: 1 });
    const [dir] = folders(1);
    const first = commit.commit([dir!]);
    const second = commit.commit([dir!]); // the first round has started: this needs another fsync
    await Promise.all([first, second]);
    expect(commit.fsyncs).toBe(2);
    await commit.close();
  });

  it('names the folders that could not be fsynced, per caller, and keeps serving the others', async () => {
    const commit = new FolderCommit(options);
    const [good] = folders(1);
    const missing = path.join(path.dirname(good!), 'no-such-mailbox', 'new');
    const [a, b] = await Promise.all([commit.commit([good!, missing]), commit.commit([good!])]);
    expect([...a.keys()]).toEqual([missing]);
    expect((a.get(missing) as NodeJS.ErrnoException).code).toBe('ENOENT');
    expect(b.size).toBe(0);
    expect((await commit.commit([good!])).size).toBe(0);
    await commit.close();
  });

  it('keeps at most openFolders descriptors open between rounds and closes them all on close()', async () => {
    const commit = new FolderCommit(options);
    const dirs = folders(10);
    const fdCount = () => fs.readdirSync('/proc/self/fd').length;
    const before = fdCount();
    await commit.commit(dirs);
    await new Promise((r) => setTimeout(r, 20)); // fs.close callbacks of the trimmed ones
    expect(fdCount() - before).toBeLessThanOrEqual(options.openFolders);
    await commit.close();
    await new Promise((r) => setTimeout(r, 20));
    expect(fdCount()).toBeLessThanOrEqual(before);
  });

  it('close() runs the round still owed without waiting for the window', async () => {
    const commit = new FolderCommit({ ...options, windowMs: 60_000, maxWaiters: 1000 });
    const dirs = folders(2);
    const pending = commit.commit(dirs);
    const started = Date.now();
    await commit.close();
    expect((await pending).size).toBe(0);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(commit.fsyncs).toBe(2);
  });
});
