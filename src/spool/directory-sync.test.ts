import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DirectorySync } from './directory-sync.js';

const dirs: string[] = [];
const tempDir = (): string => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dirsync-'));
  dirs.push(dir);
  return dir;
};
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

describe('DirectorySync', () => {
  it('gives every caller of one turn of the event loop the same fsync', async () => {
    const sync = new DirectorySync(tempDir());
    await Promise.all(Array.from({ length: 5 }, () => sync.sync()));
    expect(sync.fsyncs).toBe(1);
    await sync.close();
  });

  it('gives a caller that arrives while an fsync runs a later fsync, shared with the others that arrive then', async () => {
    const sync = new DirectorySync(tempDir());
    const first = sync.sync();
    await nextTurn(); // the first fsync has started and waits in libuv's pool
    expect(sync.fsyncs).toBe(1);
    const late = [sync.sync(), sync.sync(), sync.sync()];
    expect(sync.fsyncs).toBe(1); // not covered by the fsync that started before them
    await first;
    await Promise.all(late);
    expect(sync.fsyncs).toBe(2);
    await sync.close();
  });

  it('reports a failed fsync to its callers and works again once the folder is there', async () => {
    const dir = path.join(tempDir(), 'later');
    const sync = new DirectorySync(dir);
    await expect(sync.sync()).rejects.toMatchObject({ code: 'ENOENT' });
    fs.mkdirSync(dir);
    await expect(sync.sync()).resolves.toBeUndefined();
    expect(sync.fsyncs).toBe(2);
    await sync.close();
  });
});
