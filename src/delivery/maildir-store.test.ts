import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { mailboxName } from './mailbox-name.js';
import { listMaildir, MaildirStore } from './maildir-store.js';

const message = Buffer.from('Subject: hi\r\n\r\nbody\r\n');
const arrivedAt = new Date('2026-12-01T00:00:00Z');

async function store(): Promise<MaildirStore> {
  return MaildirStore.open(fs.mkdtempSync(path.join(os.tmpdir(), 'ims-maildir-')), 'relay.test');
}

describe('MaildirStore', () => {
  it('delivers concurrent messages to a new mailbox (addresses differing in case share it)', async () => {
    const s = await store();
    const [a, b] = await Promise.all([
      s.deliver('Q1', arrivedAt, message, ['New@Example.test', 'other@example.test']),
      s.deliver('Q2', arrivedAt, message, ['new@example.test']),
    ]);
    expect([...a!, ...b!].map((r) => r.kind)).toEqual(['delivered', 'delivered', 'delivered']);
    expect(a![0]!.diagnostic).toBe('delivered to Maildir new@example.test');
    const box = path.join(s.root, mailboxName('new@example.test'));
    const files = listMaildir(box);
    expect(files.map((f) => path.basename(f).split('.')[1]).sort()).toEqual(['Q1', 'Q2']);
    expect(fs.readFileSync(files[0]!)).toEqual(message);
    expect(fs.readdirSync(s.root).sort()).toEqual(['.staging', 'new@example.test', 'other@example.test']);
    expect(fs.readdirSync(path.join(s.root, '.staging'))).toEqual([]);
    await s.close();
  });

  it('does not duplicate a message delivered again (after a crash, say)', async () => {
    const s = await store();
    await s.deliver('Q1', arrivedAt, message, ['a@example.test']);
    const again = await s.deliver('Q1', arrivedAt, message, ['a@example.test']);
    expect(again[0]!.kind).toBe('delivered');
    expect(listMaildir(path.join(s.root, 'a@example.test'))).toHaveLength(1);
    await s.close();
  });

  it('says when only the disk is left to wait for: every link exists by then', async () => {
    const s = await store();
    const seen: number[] = [];
    await s.deliver('Q1', arrivedAt, message, ['a@example.test', 'b@example.test'], () =>
      seen.push(
        listMaildir(path.join(s.root, 'a@example.test')).length +
          listMaildir(path.join(s.root, 'b@example.test')).length,
      ),
    );
    expect(seen).toEqual([2]);
    await s.close();
  });

  it('fails only the recipient whose mailbox cannot be made, as a temporary failure', async () => {
    const s = await store();
    fs.writeFileSync(path.join(s.root, 'blocked@example.test'), 'a file where the folder would go');
    const results = await s.deliver('Q1', arrivedAt, message, ['blocked@example.test', 'ok@example.test']);
    expect(results[0]).toMatchObject({ kind: 'temporary', address: 'blocked@example.test', status: '4.3.0' });
    expect(results[0]!.diagnostic).toMatch(/^local delivery failed: /);
    expect(results[1]).toMatchObject({ kind: 'delivered', address: 'ok@example.test' });
    // the failure is not remembered: once the obstacle is gone the mailbox is made
    fs.rmSync(path.join(s.root, 'blocked@example.test'));
    const retried = await s.deliver('Q1', arrivedAt, message, ['blocked@example.test']);
    expect(retried[0]!.kind).toBe('delivered');
    await s.close();
  });

  it('fsyncs a new mailbox with its parent folders, a known one only its new/ folder', async () => {
    const s = await store();
    await s.deliver('Q1', arrivedAt, message, ['a@example.test']);
    // new/, the mailbox folder (its new tmp/ new/ cur/ entries) and mailboxes/ (the new mailbox)
    expect(s.folderFsyncs).toBe(3);
    await s.deliver('Q2', arrivedAt, message, ['a@example.test']);
    expect(s.folderFsyncs).toBe(4);
    await s.close();
  });
});
