/**
 * Migration from versions that kept capture mode's mail as one Maildir per recipient under
 * `<spool>/mailboxes/<address>/{new,cur}/`, every copy a hard link named
 * `<arrival seconds>.<queue id>.<hostname>`: at the first start with the store, the files are
 * imported — one capture per queue ID, its recipients the mailboxes that hold it — once (the
 * store's index remembers it), with event 1134. The old folder is left as it was.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { EventLog } from '../events/event-log.js';
import { readTraceHeader } from './message-file.js';
import type { MessageStore } from './message-store.js';

const IMPORTED = 'maildirImported';
const OLD_NAME = /^(\d+)\.([0-9A-F]{11}-[0-9A-F]{5}-[0-9A-F]{4})\.[^/]+$/;

/** The address a mailbox folder was named after (percent-encoded UTF-8; a cut long name stays as it is). */
function addressOf(folder: string): string {
  try {
    return decodeURIComponent(folder);
  } catch {
    return folder;
  }
}

export interface ImportReport {
  messages: number;
  links: number;
}

export async function importOldMaildirs(
  root: string,
  store: MessageStore,
  events?: EventLog,
): Promise<ImportReport | undefined> {
  if (store.index.meta(IMPORTED) !== undefined) return undefined;
  let folders: string[];
  try {
    folders = fs.readdirSync(root).filter((n) => !n.startsWith('.'));
  } catch {
    return undefined; // no old mailboxes
  }
  // queue ID → its file (any link) and the mailboxes holding it
  const found = new Map<string, { file: string; seconds: number; recipients: string[] }>();
  let links = 0;
  for (const folder of folders.sort()) {
    for (const sub of ['new', 'cur']) {
      let names: string[];
      try {
        names = fs.readdirSync(path.join(root, folder, sub));
      } catch {
        continue;
      }
      for (const name of names) {
        const m = OLD_NAME.exec(name.split(':')[0]!);
        if (!m) continue;
        const file = path.join(root, folder, sub, name);
        if (!fs.lstatSync(file).isFile()) continue;
        links++;
        const entry = found.get(m[2]!) ?? { file, seconds: Number(m[1]), recipients: [] };
        entry.recipients.push(addressOf(folder));
        found.set(m[2]!, entry);
      }
    }
  }
  let messages = 0;
  for (const [queueId, entry] of found) {
    const bytes = fs.readFileSync(entry.file);
    const trace = readTraceHeader(bytes);
    const result = await store.capture({
      queueId,
      sender: trace?.sender ?? '',
      recipients: entry.recipients,
      message: trace ? bytes.subarray(trace.messageStart) : bytes,
      capturedAt: entry.seconds * 1000,
    });
    if (!result.ok) throw result.error;
    if (result.stored) messages++;
  }
  store.index.setMeta(IMPORTED, new Date().toISOString());
  if (links > 0)
    events?.emit('maildirImported', {
      detail: `${messages} message(s) from ${links} Maildir file(s) under ${root} imported into the message store.`,
      data: { messages, links, from: root },
    });
  return { messages, links };
}
