import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PickupFolder } from './pickup-folder.js';
import { Spool } from './spool.js';

function setup() {
  const spool = Spool.open(fs.mkdtempSync(path.join(os.tmpdir(), 'ims-pickup-')));
  return {
    spool,
    pickup: new PickupFolder(spool, { maxHeaderBytes: 1024, maxMessageSize: 10 * 1024 * 1024 }),
  };
}

describe('PickupFolder', () => {
  it('moves a file into in/ with the envelope from its X- lines, which are removed', async () => {
    const { spool, pickup } = setup();
    fs.writeFileSync(
      path.join(spool.folder('pickup'), 'a.eml'),
      'X-Sender: <app@example.test>\r\nX-Receiver: <one@example.test>\r\nx-receiver: two@example.test\r\nX-Receiver: ONE@example.test\r\n' +
        'Subject: picked up\r\n\r\nbody\r\n',
    );
    expect(await pickup.waiting()).toEqual(['a.eml']);
    const result = await pickup.ingest('a.eml');
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const entry = await spool.readEntry('in', result.queueId);
    expect(entry.ok).toBe(true);
    if (!entry.ok) return;
    expect(entry.envelope.sender).toBe('app@example.test');
    expect(entry.envelope.recipients).toEqual([
      { address: 'one@example.test' },
      { address: 'two@example.test' },
    ]);
    expect(entry.envelope.source).toBe('pickup');
    expect(entry.message.toString()).toBe('Subject: picked up\r\n\r\nbody\r\n');
    expect(fs.readdirSync(spool.folder('pickup'))).toEqual([]);
  });

  it('takes any number of recipients, in chunks', async () => {
    const { spool, pickup } = setup();
    const lines = Array.from({ length: 50_000 }, (_, i) => `X-Receiver: <u${i}@example.test>\n`).join('');
    fs.writeFileSync(
      path.join(spool.folder('pickup'), 'many.eml'),
      `X-Sender: a@example.test\n${lines}Subject: many\n\nhi\n`,
    );
    const result = await pickup.ingest('many.eml');
    expect(result.ok && result.recipients).toBe(50_000);
    const entry = result.ok ? await spool.readEntry('in', result.queueId) : undefined;
    expect(entry?.ok && entry.message.toString()).toBe('Subject: many\r\n\r\nhi\r\n');
  });

  it.each([
    ['no X-Receiver', 'X-Sender: a@example.test\r\nSubject: x\r\n\r\nbody\r\n', 'no valid X-Receiver'],
    ['a bad X-Receiver', 'X-Receiver: not an address\r\nSubject: x\r\n\r\nbody\r\n', 'invalid X-Receiver'],
    [
      'a header over the limit',
      `X-Receiver: a@example.test\r\nX-Big: ${'y'.repeat(2000)}\r\n\r\nbody\r\n`,
      'header block over 1024',
    ],
    ['no message', 'X-Receiver: a@example.test\r\n', 'no message'],
  ])('moves a file with %s to bad/', async (_what, content, reason) => {
    const { spool, pickup } = setup();
    fs.writeFileSync(path.join(spool.folder('pickup'), 'bad.eml'), content);
    const result = await pickup.ingest('bad.eml');
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.reason).toContain(reason);
    expect(fs.readFileSync(result.movedTo, 'utf8')).toBe(content);
    expect(await spool.list('in')).toEqual([]);
    expect(fs.readdirSync(spool.folder('tmp'))).toEqual([]);
  });

  it('after a crash, removes claims whose entry exists and returns the others', async () => {
    const { spool, pickup } = setup();
    fs.writeFileSync(
      path.join(spool.folder('pickup'), 'done.eml'),
      'X-Receiver: a@example.test\r\n\r\nbody\r\n',
    );
    const done = await pickup.ingest('done.eml');
    expect(done.ok).toBe(true);
    if (!done.ok) return;
    // as if the crash came before the claim was removed
    fs.writeFileSync(path.join(spool.folder('pickup'), `.claimed-${done.queueId}-done.eml`), 'x');
    fs.writeFileSync(
      path.join(spool.folder('pickup'), `.claimed-${spool.newQueueId()}-lost.eml`),
      'X-Receiver: b@x.test\r\n\r\nb\r\n',
    );
    const r = await pickup.recoverClaims();
    expect(r).toEqual({ completed: ['done.eml'], returned: ['lost.eml'] });
    expect(await pickup.waiting()).toEqual(['lost.eml']);
  });
});
