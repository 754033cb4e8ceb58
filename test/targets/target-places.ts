/**
 * The delivery targets the shared case suite (target.cases.ts) runs against, each with its real
 * parts in a temporary folder: the message store (a real SQLite index), the store with a real
 * Maildir folder beside it (--maildir), and the upstream (a real smtp-server on a free loopback
 * port). A place says how to make the target, how to count what it delivered, how to make a
 * recipient fail, and how to run `ims-relay serve` against the same destination (crash case).
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { EventLog } from '../../src/events/event-log.js';
import { StoreTarget } from '../../src/delivery/local-target.js';
import { mailboxName } from '../../src/delivery/mailbox-name.js';
import { listMaildir, MaildirStore } from '../../src/delivery/maildir-store.js';
import { OutageTracker } from '../../src/delivery/outage-tracker.js';
import type { Target } from '../../src/delivery/target.js';
import { UpstreamClient } from '../../src/delivery/upstream-client.js';
import { UpstreamTarget } from '../../src/delivery/upstream-target.js';
import { MessageStore } from '../../src/store/message-store.js';
import { ScriptedUpstream } from '../helpers/scripted-upstream.js';

export interface TargetPlace {
  /** Makes the target (in this process) on the spool folder `spool`. */
  target(spool: string): Promise<Target>;
  /** Copies of mail `address` has at the destination so far. */
  copies(address: string): number;
  /**
   * Makes `address` fail temporarily. A place that cannot single one recipient out (the store: a
   * message's recipients are captured together) makes the whole batch fail.
   */
  defer(address: string): void;
  /** Makes `address` fail for good; only where the target can refuse a recipient for good. */
  refuse?(address: string): void;
  /** Undoes defer() and refuse(). */
  repair(): void;
  /** `ims-relay serve` arguments that deliver to this destination. */
  relayArgs(): string[];
  /**
   * Crash case: calls `kill` once the relay is in the middle of delivering a message to `count`
   * recipients (after part of it is done, before all of it is).
   */
  killMidDelivery(kill: () => void, count: number): void;
  close(): Promise<void>;
}

export interface TargetKind {
  name: string;
  /** Most recipients in one batch (one upstream transaction; a local capture takes them all). */
  batchSize: number;
  /** A temporary failure can hit one recipient alone (otherwise: every recipient of the batch). */
  defersOneRecipient: boolean;
  /** Can refuse a recipient for good (an SMTP 5xx). A local disk has no "user unknown". */
  refusesPermanently: boolean;
  /** Makes a place in `dir` (the spool is `<dir>/spool`). */
  open(dir: string): Promise<TargetPlace>;
}

const HOST = 'relay.test';
const UPSTREAM_BATCH = 2;

/** Recipient rows per address in the store's index (a reader beside the writer, as `ims-relay mailbox` is). */
function storeCopies(spool: string, address: string): number {
  const file = path.join(spool, 'store', 'index.sqlite');
  if (!fs.existsSync(file)) return 0;
  const db = new Database(file, { readonly: true, fileMustExist: true, timeout: 5000 });
  try {
    const row = db
      .prepare('SELECT count(*) AS n FROM recipients WHERE address = ?')
      .get(address.toLowerCase()) as { n: number };
    return row.n;
  } finally {
    db.close();
  }
}

/** Calls `kill` as soon as a file or folder shows up in `dir` (inotify), once. */
function killOnFirstEntry(dir: string, kill: () => void): void {
  fs.mkdirSync(dir, { recursive: true });
  const watcher = fs.watch(dir, () => {
    watcher.close();
    kill();
  });
}

const stores: MessageStore[] = [];
async function openStore(spool: string): Promise<MessageStore> {
  const store = await MessageStore.open(path.join(spool, 'store'));
  stores.push(store);
  return store;
}
async function closeStores(): Promise<void> {
  for (const s of stores.splice(0)) await s.close();
}

/** The message store alone (capture mode). */
export const storeKind: TargetKind = {
  name: 'message store (SQLite)',
  batchSize: Number.MAX_SAFE_INTEGER,
  defersOneRecipient: false,
  refusesPermanently: false,
  async open(dir) {
    const spool = path.join(dir, 'spool');
    const tmp = path.join(spool, 'store', 'tmp');
    return {
      target: async (at) => new StoreTarget(await openStore(at), undefined, HOST),
      copies: (address) => storeCopies(spool, address),
      // a capture is written to store/tmp/ first: a file in its place fails every capture
      defer: () => {
        fs.rmSync(tmp, { recursive: true, force: true });
        fs.writeFileSync(tmp, 'not a folder');
      },
      repair: () => {
        if (fs.statSync(tmp).isFile()) fs.rmSync(tmp);
        fs.mkdirSync(tmp, { recursive: true });
      },
      // the queued path, whose delivery target this suite is about (capture mode stores a message
      // at its final dot otherwise: test/direct-capture.test.ts)
      relayArgs: () => ['--mode', 'capture', '--direct-capture', 'false'],
      // the capture's file is being written (before its fsync, rename and index row)
      killMidDelivery: (kill) => killOnFirstEntry(tmp, kill),
      close: closeStores,
    };
  },
};

/** The message store with a Maildir per recipient beside it (capture mode, --maildir DIR). */
export const maildirKind: TargetKind = {
  name: 'message store + Maildir folder',
  batchSize: Number.MAX_SAFE_INTEGER,
  defersOneRecipient: true,
  refusesPermanently: false,
  async open(dir) {
    const root = path.join(dir, 'maildir');
    const blocked: string[] = [];
    const makers: MaildirStore[] = [];
    const box = (address: string) => path.join(root, mailboxName(address.toLowerCase()));
    return {
      target: async (spool) => {
        const maildir = await MaildirStore.open(root, HOST);
        makers.push(maildir);
        return new StoreTarget(await openStore(spool), maildir, HOST);
      },
      copies: (address) => listMaildir(box(address)).length,
      // a file where the address's mailbox folder goes: its folders cannot be made
      defer: (address) => {
        fs.mkdirSync(root, { recursive: true });
        fs.writeFileSync(box(address), 'not a mailbox');
        blocked.push(box(address));
      },
      repair: () => {
        for (const f of blocked.splice(0)) fs.rmSync(f);
      },
      relayArgs: () => ['--mode', 'capture', '--maildir', root],
      // the first mailbox is made; the other recipients' are still to come
      killMidDelivery: (kill) => killOnFirstEntry(root, kill),
      close: async () => {
        for (const m of makers.splice(0)) await m.close();
        await closeStores();
      },
    };
  },
};

/** The next hop: a real SMTP server (smtp-server) on a free loopback port (relay mode). */
export const upstreamKind: TargetKind = {
  name: 'upstream (smtp-server)',
  batchSize: UPSTREAM_BATCH,
  defersOneRecipient: true,
  refusesPermanently: true,
  async open() {
    const deferred = new Set<string>();
    const refused = new Set<string>();
    let killAt: { transaction: number; kill: () => void } | undefined;
    const upstream = new ScriptedUpstream({
      rcpt: (address, _position, transaction) => {
        if (killAt && transaction >= killAt.transaction) {
          const { kill } = killAt;
          killAt = undefined;
          kill();
          return { code: 421, message: '4.3.0 going away' };
        }
        const key = address.toLowerCase();
        if (deferred.has(key)) return { code: 450, message: '4.2.0 mailbox busy, try later' };
        if (refused.has(key)) return { code: 550, message: '5.1.1 no such user' };
        return undefined;
      },
    });
    const port = await upstream.start();
    const clients: UpstreamClient[] = [];
    return {
      target: async () => {
        const client = new UpstreamClient({
          url: `smtp://127.0.0.1:${port}`,
          maxRecipients: UPSTREAM_BATCH,
          tlsVerify: false,
          hostname: HOST,
          maxConnections: 1,
          timeoutMs: 10_000,
        });
        clients.push(client);
        const events = new EventLog({ logLevel: 'silent' });
        return new UpstreamTarget(
          client,
          new OutageTracker(
            () => events.emit('nextHopUnreachable', { data: { upstream: client.address } }),
            () => events.emit('nextHopReachable', { data: { upstream: client.address } }),
          ),
        );
      },
      copies: (address) => upstream.delivered.filter((a) => a.toLowerCase() === address.toLowerCase()).length,
      defer: (address) => deferred.add(address.toLowerCase()),
      refuse: (address) => refused.add(address.toLowerCase()),
      repair: () => {
        deferred.clear();
        refused.clear();
      },
      relayArgs: () => [
        '--mode',
        'relay',
        '--upstream',
        `smtp://127.0.0.1:${port}`,
        '--upstream-max-recipients',
        String(UPSTREAM_BATCH),
      ],
      // the first transaction is accepted (and journaled); the second one is under way
      killMidDelivery: (kill) => {
        killAt = { transaction: upstream.transactions + 2, kill };
      },
      close: async () => {
        for (const c of clients.splice(0)) c.close();
        await upstream.stop();
      },
    };
  },
};

export const TARGET_KINDS = [storeKind, maildirKind, upstreamKind];
