/**
 * Capture mode's local delivery: one Maildir per recipient under `<spool>/mailboxes/<address>/`
 * (`tmp/ new/ cur/`, readable by any Maildir tool). A message is written once to a staging file
 * and fsynced, then hard-linked into each recipient's `new/`, and each `new/` directory is fsynced
 * (shared by concurrent deliveries, see FolderCommit) before the delivery counts as done. The link
 * name is derived from the queue ID, so delivering the same message again after a crash finds the
 * link already there (EEXIST) and does not duplicate it.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { DirectorySync } from '../spool/directory-sync.js';
import type { RecipientAttempt } from './delivery-result.js';
import { FolderCommit } from './folder-commit.js';
import { mailboxName } from './mailbox-name.js';

/**
 * How Maildir folders are fsynced: deliveries within COMMIT_WINDOW_MS of each other (or up to
 * COMMIT_WAITERS of them) share one fsync per folder. The window only delays when the spool entry
 * may go, never when the message shows up in the Maildir.
 */
const COMMIT_WINDOW_MS = 20;
const COMMIT_WAITERS = 8;
const OPEN_MAILBOXES = 256;
/** Folder fsyncs in flight at once: libuv has four file-system threads, one stays free for the SMTP side. */
const PARALLEL_FSYNCS = 3;
const LINKS_PER_TURN = 100;

/** A mailbox whose folders exist: where its messages are linked, and how outcomes name it. */
interface Mailbox {
  newFolder: string;
  diagnostic: string;
}

/** Mailboxes remembered by address; beyond this many the memory starts over. */
const KNOWN_MAILBOXES = 50_000;

export class MaildirStore {
  /** Mailboxes known to exist, by address in lower case (the folder name is derived once). */
  private readonly known = new Map<string, Mailbox>();
  /** Mailboxes being made: concurrent deliveries to a new address share one set of mkdirs. */
  private readonly making = new Map<string, Promise<{ box: Mailbox; created: string[] }>>();
  private readonly commits = new FolderCommit({
    windowMs: COMMIT_WINDOW_MS,
    maxWaiters: COMMIT_WAITERS,
    openFolders: OPEN_MAILBOXES,
    parallel: PARALLEL_FSYNCS,
  });

  constructor(
    readonly root: string,
    private readonly hostname: string,
  ) {}

  static async open(root: string, hostname: string): Promise<MaildirStore> {
    const made = await fsp.mkdir(path.join(root, '.staging'), { recursive: true, mode: 0o700 });
    // a new mailboxes/ folder must survive a crash too: its parent's entry is made durable once
    if (made !== undefined) await new DirectorySync(path.dirname(made), false).sync();
    // staging files of deliveries a crash interrupted: their links, if any, are complete
    for (const name of await fsp.readdir(path.join(root, '.staging'))) {
      await fsp.rm(path.join(root, '.staging', name), { force: true });
    }
    return new MaildirStore(root, hostname);
  }

  /**
   * The mailbox of an address (`key`: the address in lower case), its folders made if needed. `created` lists the folders whose
   * entries changed (the mailbox root and the mailbox), which must be fsynced for a new mailbox
   * to survive a crash.
   */
  private mailbox(
    key: string,
  ): { box: Mailbox; created: string[] } | Promise<{ box: Mailbox; created: string[] }> {
    const known = this.known.get(key);
    if (known) return { box: known, created: [] };
    let making = this.making.get(key);
    if (!making) {
      making = this.makeMailbox(key).finally(() => this.making.delete(key));
      this.making.set(key, making);
    }
    return making;
  }

  private async makeMailbox(key: string): Promise<{ box: Mailbox; created: string[] }> {
    const name = mailboxName(key);
    const dir = path.join(this.root, name);
    let created = false;
    for (const sub of ['tmp', 'new', 'cur'])
      if ((await fsp.mkdir(path.join(dir, sub), { recursive: true, mode: 0o700 })) !== undefined)
        created = true;
    const box = { newFolder: path.join(dir, 'new'), diagnostic: `delivered to Maildir ${name}` };
    if (this.known.size >= KNOWN_MAILBOXES) this.known.clear();
    this.known.set(key, box);
    return { box, created: created ? [this.root, dir] : [] };
  }

  /**
   * Links the staged message into the address's new/ folder (EEXIST: a delivery before a crash
   * did it already). Returns the folders to fsync, or the error.
   */
  private async linkInto(
    address: string,
    staging: string,
    name: string,
  ): Promise<{ box: Mailbox; folders: string[] } | Error> {
    const key = address.toLowerCase(); // as the folder name is
    try {
      const found = this.mailbox(key);
      const { box, created } = found instanceof Promise ? await found : found;
      try {
        fs.linkSync(staging, path.join(box.newFolder, name));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      return { box, folders: [box.newFolder, ...created] };
    } catch (err) {
      this.known.delete(key);
      return err as Error;
    }
  }

  /** Folder fsyncs done so far (each folder once per round, however many deliveries named it). */
  get folderFsyncs(): number {
    return this.commits.fsyncs;
  }

  /** Waits for the folder fsyncs still owed, then closes the folders kept open. */
  async close(): Promise<void> {
    await this.commits.close();
  }

  /** Delivers `message` to each address; one outcome per address. */
  async deliver(
    queueId: string,
    arrivedAt: Date,
    message: Buffer,
    addresses: string[],
    /** Called once every link is made, when all that is left is to wait for the disk. */
    beforeDurableWait?: () => void,
    /** The file name in new/ (unique per message; the same name again finds the link made). */
    fileName = `${Math.floor(arrivedAt.getTime() / 1000)}.${queueId}.${this.hostname}`,
  ): Promise<RecipientAttempt[]> {
    const name = fileName;
    const staging = path.join(this.root, '.staging', `${queueId}.${process.pid}`);
    try {
      await writeDurably(staging, message);
    } catch (err) {
      return addresses.map((address) => localFailure(address, err as Error));
    }
    try {
      // a link per recipient; what is left to fsync for each: its new/ folder (and a new mailbox)
      const linked: ({ box: Mailbox; folders: string[] } | Error)[] = [];
      for (const [i, address] of addresses.entries()) {
        // links are made on this thread (a few microseconds each, far less than a round trip to
        // libuv's four file-system threads, which the SMTP side needs for its commits); the event
        // loop gets a turn every LINKS_PER_TURN links
        if (i > 0 && i % LINKS_PER_TURN === 0) await new Promise((resolve) => setImmediate(resolve));
        linked.push(await this.linkInto(address, staging, name));
      }
      const folders = new Set<string>();
      for (const l of linked) if (!(l instanceof Error)) for (const f of l.folders) folders.add(f);
      const durable = this.commits.commit(folders);
      beforeDurableWait?.();
      const failed = await durable;
      return addresses.map((address, i): RecipientAttempt => {
        const done = linked[i]!;
        if (done instanceof Error) return localFailure(address, done);
        if (failed.size > 0) {
          const err = done.folders.map((f) => failed.get(f)).find((e) => e !== undefined);
          if (err) return localFailure(address, err);
        }
        return { kind: 'delivered', address, status: '2.0.0', diagnostic: done.box.diagnostic };
      });
    } finally {
      await fsp.unlink(staging).catch(() => undefined);
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
