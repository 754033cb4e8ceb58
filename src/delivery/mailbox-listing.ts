/**
 * What capture mode has delivered: the mailboxes under `<spool>/mailboxes/` and their messages,
 * for `ims-relay mailbox`, the admin API and the test API.
 */
import fs from 'node:fs';
import path from 'node:path';
import { listMaildir } from './maildir-store.js';
import { mailboxName } from './mailbox-name.js';

export interface MailboxSummary {
  /** The folder name (the address, lower case, unsafe characters percent-encoded). */
  mailbox: string;
  messages: number;
}

export interface MailboxMessage {
  mailbox: string;
  /** The Maildir file name: `<arrival seconds>.<queue-id>.<hostname>`. */
  file: string;
  queueId: string | undefined;
  path: string;
}

export function listMailboxes(root: string): MailboxSummary[] {
  let names: string[];
  try {
    names = fs.readdirSync(root).filter((n) => !n.startsWith('.'));
  } catch {
    return [];
  }
  return names.sort().map((mailbox) => ({ mailbox, messages: listMaildir(path.join(root, mailbox)).length }));
}

export function mailboxMessages(root: string, address: string): MailboxMessage[] {
  const mailbox = mailboxName(address);
  return listMaildir(path.join(root, mailbox)).map((file) => {
    const name = path.basename(file);
    return { mailbox, file: name, queueId: name.split('.')[1], path: file };
  });
}

export function allMailboxMessages(root: string): MailboxMessage[] {
  return listMailboxes(root).flatMap((m) =>
    listMaildir(path.join(root, m.mailbox)).map((file) => {
      const name = path.basename(file);
      return { mailbox: m.mailbox, file: name, queueId: name.split('.')[1], path: file };
    }),
  );
}
