/**
 * `ims-relay mailbox list | show ADDRESS | delete ADDRESS|--all` and `ims-relay store reindex`:
 * captured mail, read from the message store under <spool>/store (its SQLite index is read beside
 * a running relay; a mailbox is the messages whose envelope names the address).
 */
import path from 'node:path';
import type { Command } from 'commander';
import { acquireSpoolLock } from '../spool/spool-lock.js';
import type { MessageStore } from '../store/message-store.js';

/** The store (and SQLite) is loaded by the mailbox commands only, not by every command. */
const openStore = async (...args: Parameters<typeof MessageStore.open>) =>
  (await import('../store/message-store.js')).MessageStore.open(...args);
import type { CliIO } from './cli-io.js';
import { resolveToolConfig } from './tool-config.js';

type Options = { spool?: string; config?: string; json?: boolean };

export function registerMailbox(program: Command, io: CliIO, done: (code: number) => void): void {
  const mailbox = program
    .command('mailbox')
    .description('captured mail by recipient (the message store under <spool>/store)');
  const common = (c: Command) =>
    c
      .option('--spool <DIR>', 'the spool (default ./spool or IMS_RELAY_SPOOL)')
      .option('--config <FILE>', 'config file')
      .option('--json', 'JSON output');

  /** Opens the store without repairing it (a relay may be writing to it). */
  const withStore = async (o: Options, run: (store: MessageStore) => Promise<number> | number) => {
    const resolved = await resolveToolConfig(o, io);
    if (!resolved.ok) return done(2);
    let store: MessageStore;
    try {
      store = await openStore(path.join(resolved.config.spool, 'store'), { repair: false });
    } catch (err) {
      io.stderr.write(`ims-relay: cannot open the message store: ${(err as Error).message}\n`);
      return done(1);
    }
    try {
      done(await run(store));
    } finally {
      await store.close();
    }
  };

  common(mailbox.command('list'))
    .description('the recipient addresses with captured mail and how many messages each has')
    .action((o: Options) =>
      withStore(o, (store) => {
        const boxes = store.index.mailboxes();
        if (o.json) io.stdout.write(JSON.stringify(boxes, null, 2) + '\n');
        else if (boxes.length === 0) io.stdout.write('no captured mail yet\n');
        else for (const b of boxes) io.stdout.write(`${String(b.messages).padStart(7)}  ${b.mailbox}\n`);
        return 0;
      }),
    );

  common(mailbox.command('show <ADDRESS>'))
    .description('the messages captured for one address: time, ID, sender, subject, file')
    .action((address: string, o: Options) =>
      withStore(o, (store) => {
        const rows = store.index.all({ to: address }).map((m) => ({
          id: m.id,
          queueId: m.queueId,
          date: new Date(m.capturedAt).toISOString(),
          from: m.from || m.sender,
          subject: m.subject,
          recipients: m.recipientCount,
          path: store.fileOf(m.id),
        }));
        if (rows.length === 0) {
          io.stderr.write(`ims-relay: no messages for ${address}\n`);
          return 1;
        }
        if (o.json) io.stdout.write(JSON.stringify(rows, null, 2) + '\n');
        else
          for (const r of rows)
            io.stdout.write(`${r.date}  ${r.id}  ${r.from}  ${r.subject}\n    ${r.path}\n`);
        return 0;
      }),
    );

  common(mailbox.command('delete [ADDRESS]'))
    .description(
      'delete the messages captured for ADDRESS (a message to several recipients goes for all of them), or every message with --all',
    )
    .option('--all', 'delete every captured message')
    .action((address: string | undefined, o: Options & { all?: boolean }) => {
      if (!address && !o.all) {
        io.stderr.write('ims-relay: give an ADDRESS or --all\n');
        return done(2);
      }
      return withStore(o, async (store) => {
        const gone = await store.deleteMatching(address ? { to: address } : {});
        if (o.json) io.stdout.write(JSON.stringify({ deleted: gone.length }) + '\n');
        else io.stdout.write(`${gone.length} message(s) deleted\n`);
        return 0;
      });
    });

  const store = program.command('store').description('the message store of capture mode');
  store
    .command('reindex')
    .description(
      'rebuild the SQLite index of the message store from its message files (the relay must be stopped)',
    )
    .option('--spool <DIR>', 'the spool (default ./spool or IMS_RELAY_SPOOL)')
    .option('--config <FILE>', 'config file')
    .action(async (o: Options) => {
      const resolved = await resolveToolConfig(o, io);
      if (!resolved.ok) return done(2);
      const lock = acquireSpoolLock(resolved.config.spool);
      if (!lock.ok) {
        io.stderr.write(`ims-relay: ${lock.message}; stop the relay before rebuilding the index\n`);
        return done(1);
      }
      try {
        const opened = await openStore(path.join(resolved.config.spool, 'store'));
        const report = await opened.reindex();
        await opened.close();
        io.stdout.write(`index rebuilt: ${report.indexed} message(s)\n`);
        done(0);
      } catch (err) {
        io.stderr.write(`ims-relay: the index could not be rebuilt: ${(err as Error).message}\n`);
        done(1);
      } finally {
        lock.release();
      }
    });
}
