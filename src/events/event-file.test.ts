import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { EventLog } from './event-log.js';

function collector() {
  let text = '';
  const stream = new Writable({
    write(chunk, _enc, cb) {
      text += chunk.toString();
      cb();
    },
  });
  return { stream, text: () => text };
}

/** A real, small tmpfs (the test runs as root in CI); undefined where mounting is not allowed. */
function smallTmpfs(bytes: number): string | undefined {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ims-tmpfs-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes}`, 'tmpfs', dir], { stdio: 'ignore' });
    return dir;
  } catch {
    fs.rmdirSync(dir);
    return undefined;
  }
}

const mounted: string[] = [];
afterEach(() => {
  for (const dir of mounted.splice(0)) {
    execFileSync('umount', [dir]);
    fs.rmdirSync(dir);
  }
});

const canMount = (() => {
  const dir = smallTmpfs(64 * 1024);
  if (!dir) return false;
  execFileSync('umount', [dir]);
  fs.rmdirSync(dir);
  return true;
})();

/** Fills the file system with one file until ENOSPC. */
function fill(dir: string): string {
  const filler = path.join(dir, 'filler');
  const fd = fs.openSync(filler, 'w');
  const block = Buffer.alloc(4096, 0x61);
  try {
    for (;;) fs.writeSync(fd, block);
  } catch (err) {
    expect((err as NodeJS.ErrnoException).code).toBe('ENOSPC');
  } finally {
    fs.closeSync(fd);
  }
  return filler;
}

describe.skipIf(!canMount)('events file on a full disk (real tmpfs)', () => {
  it('keeps the events of an ENOSPC outage and writes them when space returns', async () => {
    const dir = smallTmpfs(256 * 1024)!;
    mounted.push(dir);
    const file = path.join(dir, 'log', 'events.jsonl');
    const err = collector();
    const log = new EventLog({ file, destination: collector().stream, stderr: err.stream });
    log.emit('serviceStarted');
    expect(log.flush()).toBe(true);

    const filler = fill(dir);
    // big enough that a write tears a line in the middle when the disk fills
    const big = { note: 'x'.repeat(3000) };
    for (let i = 0; i < 20; i++) log.emit('messageQueued', { queueId: `Q${i}`, data: big });
    expect(log.flush()).toBe(false);
    expect(err.text()).toMatch(/cannot write the events file .*ENOSPC/);
    log.emit('messageQueued', { queueId: 'during', data: big });
    expect(log.flush()).toBe(false);
    expect(err.text().match(/cannot write the events file/g)).toHaveLength(1);

    fs.rmSync(filler); // space returns: the retry timer writes the backlog
    for (let i = 0; i < 200 && !/is writable again/.test(err.text()); i++)
      await new Promise((r) => setTimeout(r, 25));
    expect(err.text()).toMatch(/events file .* is writable again/);
    log.emit('messageDelivered', { queueId: 'after' });
    await log.close();

    const lines = fs.readFileSync(file, 'utf8').trim().split('\n');
    const ids = lines.map((l) => (JSON.parse(l) as { queueId?: string }).queueId); // no torn line
    expect(ids).toEqual([undefined, ...Array.from({ length: 20 }, (_, i) => `Q${i}`), 'during', 'after']);
  });
});

describe('events file timing', () => {
  it('writes a burst of events within one flush even while the thread pool is busy', async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ims-ev-')), 'events.jsonl');
    const log = new EventLog({ file, destination: collector().stream });
    // occupy libuv's thread pool (where fs.WriteStream used to queue its writes behind fsyncs)
    const busy = Array.from({ length: 16 }, () =>
      fs.promises.writeFile(path.join(path.dirname(file), `busy-${Math.random()}`), Buffer.alloc(1 << 22)),
    );
    for (let i = 0; i < 1000; i++) log.emit('messageQueued', { queueId: `Q${i}` });
    // the first timer after the burst has put every event in the file (no thread-pool round trip)
    await new Promise((r) => setTimeout(r, 20));
    const seen = fs.readFileSync(file, 'utf8').trim().split('\n').length;
    await Promise.all(busy);
    await log.close();
    expect(seen).toBe(1000);
  });
});
