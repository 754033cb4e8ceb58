/**
 * What the message store of a spool holds, read straight from its SQLite index and files (a second
 * connection beside the running relay's, as `ims-relay mailbox` makes): the files captured for an
 * address, and the mailboxes.
 */
import fs from 'node:fs';
import path from 'node:path';
import { StoreIndex } from '../../src/store/store-index.js';

function withIndex<T>(spool: string, read: (index: StoreIndex) => T, none: T): T {
  const file = path.join(spool, 'store', 'index.sqlite');
  if (!fs.existsSync(file)) return none;
  const index = new StoreIndex(file);
  try {
    return read(index);
  } finally {
    index.close();
  }
}

/** The message files whose envelope names `address`, oldest first. */
export function capturedFiles(spool: string, address: string): string[] {
  return withIndex(
    spool,
    (index) => index.all({ to: address }).map((m) => path.join(spool, 'store', 'messages', `${m.id}.eml`)),
    [],
  );
}

/** Every address with captured mail (lower case), and how many messages each has. */
export function capturedMailboxes(spool: string): { mailbox: string; messages: number }[] {
  return withIndex(spool, (index) => index.mailboxes(), []);
}
