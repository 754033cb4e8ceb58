import fs from 'node:fs';
import path from 'node:path';
import { SCHEMA_VERSION, StoreIndex } from '../../src/store/store-index.js';

/** The capture ID of the k-th message of a filled store (in capture order). */
export const filledId = (k: number) =>
  `1A23B726A26-${String(k % 100_000).padStart(5, '0')}-${(Math.floor(k / 100_000) + 1).toString(16).toUpperCase().padStart(4, '0')}.1`;

/**
 * Makes `<storeDir>` a message store of `n` small captured messages, written straight into the
 * files and the index (as a relay that captured them would have left them, without SMTP): every
 * `sidecarEvery`-th message has two recipients and an envelope sidecar. Returns the capture IDs.
 */
export function fillStore(storeDir: string, n: number, sidecarEvery = 10): string[] {
  for (const sub of ['messages', 'envelopes', 'tmp'])
    fs.mkdirSync(path.join(storeDir, sub), { recursive: true });
  const index = new StoreIndex(path.join(storeDir, 'index.sqlite'));
  const ids: string[] = [];
  const start = Date.now() - n;
  for (let i = 0; i < n; i += 1000) {
    const records = [];
    for (let k = i; k < Math.min(n, i + 1000); k++) {
      const id = filledId(k);
      const queueId = id.slice(0, -2);
      const to = `user${k % 100}@example.test`;
      const recipients = k % sidecarEvery === 0 ? [to, 'also@example.test'] : [to];
      const head =
        recipients.length === 1
          ? `Return-Path: <app@example.test>\r\nX-Original-To: ${to}\r\nDelivered-To: ${to}\r\n`
          : 'Return-Path: <app@example.test>\r\n';
      const text = `Message ${k}.`;
      const file = `${head}From: <app@example.test>\r\nSubject: message ${k}\r\n\r\n${text}\r\n`;
      fs.writeFileSync(path.join(storeDir, 'messages', `${id}.eml`), file);
      if (recipients.length > 1)
        fs.writeFileSync(path.join(storeDir, 'envelopes', `${id}.rcpt`), recipients.join('\n') + '\n');
      records.push({
        id,
        queueId,
        sender: 'app@example.test',
        recipients,
        capturedAt: start + k,
        size: file.length,
        from: '<app@example.test>',
        subject: `message ${k}`,
        headerDate: undefined,
        report: false,
        reportStatuses: [],
        reportedQueueId: undefined,
        attachments: 0,
        tags: [],
        text,
      });
      ids.push(id);
    }
    index.insert(records);
  }
  while (index.mergeMailboxes() > 0);
  index.setMeta('schema', String(SCHEMA_VERSION));
  index.setMeta('complete', 'yes');
  index.setMeta('maildirImported', new Date().toISOString());
  index.close();
  return ids;
}

/** The capture IDs of the files in `messages/` and those of the index, each sorted. */
export function filesAndRows(storeDir: string): { files: string[]; rows: string[] } {
  const files = fs
    .readdirSync(path.join(storeDir, 'messages'))
    .map((n) => n.slice(0, -4))
    .sort();
  const index = new StoreIndex(path.join(storeDir, 'index.sqlite'), { readonly: true });
  try {
    return { files, rows: [...index.allIds()].sort() };
  } finally {
    index.close();
  }
}
