/**
 * Capture mode's local delivery: one Maildir per recipient under `<spool>/mailboxes/<address>/`
 * (`tmp/ new/ cur/`, readable by any Maildir tool). A message is written once to a staging file
 * and fsynced, then hard-linked into each recipient's `new/`, and each `new/` directory is fsynced
 * (shared by concurrent deliveries, see DirectorySync) before the delivery counts as done. The link
 * name is derived from the queue ID, so delivering the same message again after a crash finds the
 * link already there (EEXIST) and does not duplicate it.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { DirectorySync } from '../spool/directory-sync.js';
import type { RecipientAttempt } from './delivery-result.js';
import { mailboxName } from './mailbox-name.js';

const OPEN_MAILBOXES = 256;

export class MaildirStore {
  private readonly known = new Set<string>();
  private readonly syncs = new Map<string, DirectorySync>();

  constructor(
    readonly root: string,
    private readonly hostname: string,
  ) {}

  static async open(root: string, hostname: string): Promise<MaildirStore> {
    await fsp.mkdir(path.join(root, '.staging'), { recursive: true, mode: 0o700 });
    // staging files of deliveries a crash interrupted: their links, if any, are complete
    for (const name of await fsp.readdir(path.join(root, '.staging'))) {
      await fsp.rm(path.join(root, '.staging', name), { force: true });
    }
    return new MaildirStore(root, hostname);
  }

  mailboxDir(address: string): string {
    return path.join(this.root, mailboxName(address));
  }

  private async ensureMailbox(dir: string): Promise<void> {
    if (this.known.has(dir)) return;
    for (const sub of ['tmp', 'new', 'cur'])
      await fsp.mkdir(path.join(dir, sub), { recursive: true, mode: 0o700 });
    this.known.add(dir);
  }

  /**
   * The fsync coordinator of a mailbox's new/ folder. The most recently used OPEN_MAILBOXES keep
   * their folder open between syncs (one call per sync instead of open + fsync + close); older
   * ones are closed.
   */
  private syncOf(dir: string): DirectorySync {
    let sync = this.syncs.get(dir);
    if (sync) {
      this.syncs.delete(dir); // re-inserted below: the map's order is the order of use
    } else {
      sync = new DirectorySync(dir, true);
      if (this.syncs.size >= OPEN_MAILBOXES) {
        const [oldest, old] = this.syncs.entries().next().value as [string, DirectorySync];
        this.syncs.delete(oldest);
        void old.close();
      }
    }
    this.syncs.set(dir, sync);
    return sync;
  }

  /** Closes the mailbox folders kept open. */
  async close(): Promise<void> {
    const open = [...this.syncs.values()];
    this.syncs.clear();
    await Promise.all(open.map((s) => s.close()));
  }

  /** Delivers `message` to each address; one outcome per address. */
  async deliver(
    queueId: string,
    arrivedAt: Date,
    message: Buffer,
    addresses: string[],
  ): Promise<RecipientAttempt[]> {
    const name = `${Math.floor(arrivedAt.getTime() / 1000)}.${queueId}.${this.hostname}`;
    const staging = path.join(this.root, '.staging', `${queueId}.${process.pid}`);
    try {
      await writeDurably(staging, message);
    } catch (err) {
      return addresses.map((address) => localFailure(address, err as Error));
    }
    try {
      const results = await Promise.all(
        addresses.map(async (address): Promise<RecipientAttempt> => {
          const dir = this.mailboxDir(address);
          try {
            await this.ensureMailbox(dir);
            try {
              await fsp.link(staging, path.join(dir, 'new', name));
            } catch (err) {
              if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
            }
            await this.syncOf(path.join(dir, 'new')).sync();
            return {
              kind: 'delivered',
              address,
              status: '2.0.0',
              diagnostic: `delivered to Maildir ${path.relative(this.root, dir)}`,
            };
          } catch (err) {
            this.known.delete(dir);
            return localFailure(address, err as Error);
          }
        }),
      );
      return results;
    } finally {
      await fsp.rm(staging, { force: true });
    }
  }
}

function localFailure(address: string, err: Error): RecipientAttempt {
  const code = (err as NodeJS.ErrnoException).code;
  return {
    kind: 'temporary',
    address,
    status: code === 'ENOSPC' || code === 'EDQUOT' ? '4.3.1' : '4.3.0',
    diagnostic: `local delivery failed: ${err.message}`,
  };
}

async function writeDurably(file: string, data: Buffer): Promise<void> {
  const handle = await fsp.open(file, 'w', 0o600);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Lists the messages in a capture-mode Maildir (new/ and cur/), oldest first. */
export function listMaildir(dir: string): string[] {
  const files: string[] = [];
  for (const sub of ['new', 'cur']) {
    try {
      for (const f of fs.readdirSync(path.join(dir, sub))) files.push(path.join(dir, sub, f));
    } catch {
      // no such folder yet
    }
  }
  return files.sort((a, b) => path.basename(a).localeCompare(path.basename(b)));
}
