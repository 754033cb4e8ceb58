import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
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

describe('EventLog', () => {
  it('appends JSON lines to the file and writes structured logs', async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ims-ev-')), 'log', 'events.jsonl');
    const out = collector();
    const log = new EventLog({ file, destination: out.stream });
    log.emit('headerLimitRefused', { queueId: 'Q1', data: { limitBytes: 32768 } });
    await log.close();
    const [line] = fs.readFileSync(file, 'utf8').trim().split('\n');
    expect(JSON.parse(line!)).toMatchObject({
      id: 2110,
      type: 'Warning',
      category: 'SMTP Interface',
      queueId: 'Q1',
      data: { limitBytes: 32768 },
    });
    expect(JSON.parse(out.text())).toMatchObject({ event: 2110, queueId: 'Q1', level: 40 });
  });

  it('writes events a little later, in order, without waiting for close()', async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ims-ev-')), 'log', 'events.jsonl');
    const log = new EventLog({ file, destination: collector().stream });
    log.emit('serviceStarted');
    log.emit('headerLimitRefused', { queueId: 'Q1' });
    log.emit('sizeLimitRefused', { queueId: 'Q2' });
    const now = () => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '');
    expect(now()).toBe(''); // held back: nothing is written in the turn the events happen
    let text = '';
    for (let i = 0; i < 200 && text === ''; i++) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      text = now();
    }
    // emitted in one turn, they are all there the first time the file has anything
    expect(
      text
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { id: number }).id),
    ).toEqual([1000, 2110, 2111]);
    await log.close();
  });

  it('keeps going when the events file cannot be written, and says so on stderr once', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ims-ev-'));
    const blocker = path.join(dir, 'file');
    fs.writeFileSync(blocker, '');
    const err = collector();
    const out = collector();
    const log = new EventLog({
      file: path.join(blocker, 'events.jsonl'),
      destination: out.stream,
      stderr: err.stream,
    });
    log.emit('serviceStarted');
    await new Promise((r) => setTimeout(r, 50));
    log.emit('serviceStopped');
    await log.close();
    expect(err.text().match(/cannot write the events file/g)).toHaveLength(1);
    expect(out.text().trim().split('\n')).toHaveLength(2);
  });
});
