/**
 * `ims-relay queue …`: list, show, retry, delete, replay, hold and release spool entries, whether
 * or not the relay is running (see queue-backend.ts). Exit codes: 0 done, 1 the operation could
 * not be done (unknown ID, wrong folder, relay unreachable), 2 bad usage.
 */
import type { Command } from 'commander';
import { QUEUE_FOLDERS, type QueueFolder } from '../spool/queue-folders.js';
import type { QueueQuery } from '../queue/queue-query.js';
import { parseQueueFilter } from '../queue/queue-query.js';
import type { CliIO } from './cli-io.js';
import type { Operation, QueueBackend } from './queue-backend.js';
import { TABLE_HEADER, countLine, formatItems } from './queue-list-format.js';
import { resolveQueueToolConfig } from './tool-config.js';

interface CommonOptions {
  spool?: string;
  config?: string;
  adminToken?: string;
}

export function registerQueue(program: Command, io: CliIO, done: (code: number) => void): void {
  const queue = program
    .command('queue')
    .description(
      'look at and act on the spool (works whether or not the relay runs; through its admin API when it does)',
    );

  const withBackend = async (options: CommonOptions, work: (backend: QueueBackend) => Promise<number>) => {
    const resolved = await resolveQueueToolConfig(options, io);
    if (!resolved.ok) return done(2);
    // the spool's and the queue service's modules are loaded by the queue commands only
    const { openQueueBackend } = await import('./queue-backend.js');
    const opened = openQueueBackend(resolved.config);
    if (!opened.ok) {
      io.stderr.write(`ims-relay: ${opened.message}\n`);
      return done(1);
    }
    try {
      done(await work(opened.backend));
    } catch (err) {
      const hint =
        (err as Error).message === 'fetch failed'
          ? ' (cannot reach its admin API from here; in Docker, run the tool inside the relay container: docker exec CONTAINER ims-relay queue …)'
          : '';
      io.stderr.write(`ims-relay: ${opened.backend.where}: ${(err as Error).message}${hint}\n`);
      done(1);
    } finally {
      opened.backend.close();
    }
  };
  const common = (c: Command) =>
    c
      .option('--spool <DIR>', 'the spool (default ./spool or IMS_RELAY_SPOOL)')
      .option('--config <FILE>', 'config file')
      .option(
        '--admin-token <TOKEN>',
        'the running relay’s admin API token (default: IMS_RELAY_ADMIN_TOKEN or the config file)',
      );
  const checkFolder = (folder: string, allowed: readonly string[] = QUEUE_FOLDERS): folder is QueueFolder => {
    if (allowed.includes(folder)) return true;
    io.stderr.write(`ims-relay: unknown folder "${folder}": use one of ${allowed.join(', ')}\n`);
    done(2);
    return false;
  };

  common(queue.command('list'))
    .description('list the messages in a folder, oldest first (streams; like mailq, the count comes last)')
    .option('--folder <FOLDER>', 'in, out, bad or archive', 'in')
    .option('--count', 'print only the number of (matching) messages')
    .option('--sender <TEXT>', 'only messages whose sender contains TEXT (<> for the null sender)')
    .option('--recipient <TEXT>', 'only messages with a recipient that contains TEXT')
    .option('--older-than <DURATION>', 'only messages that arrived at least DURATION ago (e.g. 2h)')
    .option('--newer-than <DURATION>', 'only messages that arrived at most DURATION ago')
    .option('--held', 'only held messages')
    .option('--not-held', 'only messages that are not held')
    .option('--json', 'one JSON document instead of a table (items one per line)')
    .action(
      async (
        o: CommonOptions & {
          folder: string;
          json?: boolean;
          count?: boolean;
          sender?: string;
          recipient?: string;
          olderThan?: string;
          newerThan?: string;
          held?: boolean;
          notHeld?: boolean;
        },
      ) => {
        if (!checkFolder(o.folder)) return;
        const query: QueueQuery = {
          ...(o.sender !== undefined ? { sender: o.sender } : {}),
          ...(o.recipient !== undefined ? { recipient: o.recipient } : {}),
          ...(o.olderThan !== undefined ? { olderThan: o.olderThan } : {}),
          ...(o.newerThan !== undefined ? { newerThan: o.newerThan } : {}),
          ...(o.held ? { held: 'true' } : o.notHeld ? { held: 'false' } : {}),
        };
        const bad = parseQueueFilter(query);
        if (typeof bad === 'string') {
          io.stderr.write(`ims-relay: ${bad.replace(/^(\w+)Than/, (_m, w: string) => `--${w}-than`)}\n`);
          return done(2);
        }
        const filtered = Object.keys(query).length > 0;
        await withBackend(o, async (b) => {
          const folder = o.folder as QueueFolder;
          if (o.count) {
            const count = await b.count(folder, query);
            io.stdout.write(countLine(folder, count, Boolean(o.json)));
            return 0;
          }
          let shown = 0;
          const format = o.json ? 'json' : 'table';
          if (o.json) io.stdout.write(`{"folder":${JSON.stringify(folder)},"items":[`);
          const print = (text: string, count: number) => {
            if (count === 0) return;
            const before = o.json ? (shown === 0 ? '\n' : ',\n') : shown === 0 ? TABLE_HEADER : '';
            shown += count;
            io.stdout.write(before + text);
          };
          const total = b.walkFormatted
            ? await b.walkFormatted(folder, query, format, print)
            : await b.walk(folder, query, (items) => print(formatItems(items, format), items.length));
          if (o.json) io.stdout.write(`\n],"total":${total},"shown":${shown}}\n`);
          else
            io.stdout.write(
              filtered
                ? `${folder}/: ${shown} of ${total} message${total === 1 ? '' : 's'} match\n`
                : `${folder}/: ${total} message${total === 1 ? '' : 's'}\n`,
            );
          // a long listing to a slow pipe: everything is written before the process may exit
          await new Promise<void>((resolve) => io.stdout.write('', () => resolve()));
          return 0;
        });
      },
    );

  common(queue.command('show <ID>'))
    .description('show one message: summary, recipients and their state, headers')
    .option('--envelope', 'print only the envelope (JSON)')
    .option('--headers', 'print only the header block')
    .option('--body', 'print only the whole message source')
    .option('--json', 'the whole detail as JSON')
    .action(
      async (
        id: string,
        o: CommonOptions & { envelope?: boolean; headers?: boolean; body?: boolean; json?: boolean },
      ) => {
        await withBackend(o, async (b) => {
          if (o.body || o.headers) {
            const raw = await b.raw(id);
            if (!raw.ok) return fail(io, raw.message);
            const end = raw.raw.indexOf('\r\n\r\n');
            io.stdout.write(o.headers ? raw.raw.subarray(0, end >= 0 ? end + 2 : raw.raw.length) : raw.raw);
            return 0;
          }
          const shown = await b.show(id);
          if (!shown.ok) return fail(io, shown.message);
          const d = shown.detail;
          if (o.envelope) io.stdout.write(JSON.stringify(d.envelope, null, 2) + '\n');
          else if (o.json) io.stdout.write(JSON.stringify(d, null, 2) + '\n');
          else {
            io.stdout.write(
              [
                `queue ID:  ${d.item.queueId} (${d.item.folder}/)`,
                ...(d.item.pickupFile
                  ? [
                      `           a pickup file quarantined as it was (event 4116): fix its X-Sender:/X-Receiver: lines, then \`ims-relay queue replay ${d.item.queueId}\` puts it back into pickup/`,
                    ]
                  : []),
                `arrived:   ${d.item.arrivedAt} via ${d.item.source}`,
                `sender:    ${d.item.sender || '<>'}`,
                `size:      ${d.item.size} bytes`,
                `subject:   ${d.parsed.subject ?? ''}`,
                `attempts:  ${d.item.attempts}${d.item.held ? ' (held)' : ''}${d.item.retryAt ? `, next ${d.item.retryAt}` : ''}`,
                `recipients (${d.recipients.length}):`,
                ...d.recipients
                  .slice(0, 1000)
                  .map(
                    (r) =>
                      `  ${r.address}  ${r.state}${r.status ? ` ${r.status}` : ''}${r.diagnostic ? `  ${r.diagnostic}` : ''}`,
                  ),
                ...(d.recipients.length > 1000
                  ? [`  … and ${d.recipients.length - 1000} more (--json lists all)`]
                  : []),
              ].join('\n') + '\n',
            );
          }
          return 0;
        });
      },
    );

  const operation = (
    op: Operation,
    description: string,
    bulk?: { flag: string; folders: readonly QueueFolder[] },
  ) => {
    const c = common(queue.command(`${op} [ID]`)).description(description);
    if (bulk)
      c.option('--folder <FOLDER>', `with --all: the folder (${bulk.folders.join(', ')})`).option(
        '--all',
        bulk.flag,
      );
    c.action(async (id: string | undefined, o: CommonOptions & { all?: boolean; folder?: string }) => {
      if (!id && !(bulk && o.all)) {
        io.stderr.write(`ims-relay: queue ${op} needs a queue ID${bulk ? ' or --all' : ''}\n`);
        return done(2);
      }
      if (id && o.all) {
        io.stderr.write(`ims-relay: give either a queue ID or --all, not both\n`);
        return done(2);
      }
      if (o.all && op === 'delete' && !o.folder) {
        io.stderr.write(`ims-relay: queue delete --all needs --folder (in, out, bad or archive)\n`);
        return done(2);
      }
      const folder = o.folder ?? bulk?.folders[0];
      if (o.all && bulk && (!folder || !checkFolder(folder, bulk.folders))) return;
      await withBackend(o, async (b) => {
        const ids: string[] = [];
        if (id) ids.push(id);
        else await b.walk(folder as QueueFolder, {}, (items) => ids.push(...items.map((i) => i.queueId)));
        let failed = 0;
        for (const qid of ids) {
          const result = await b.apply(op, qid);
          if (result.ok) io.stdout.write(result.message + '\n');
          else {
            failed++;
            io.stderr.write(`ims-relay: ${result.message}\n`);
          }
        }
        if (!id)
          io.stdout.write(`${ids.length - failed} of ${ids.length} message(s) in ${folder}/: ${op} done\n`);
        return failed > 0 ? 1 : 0;
      });
    });
  };
  operation('retry', 'deliver a queued message now (in/ or out/)', {
    flag: 'every message in the folder',
    folders: ['in', 'out'],
  });
  operation('delete', 'delete a message and its journal from its folder', {
    flag: 'every message in --folder',
    folders: ['in', 'out', 'bad', 'archive'],
  });
  operation('replay', 'put a message from bad/ or archive/ back into in/ for a new delivery (Q197792)', {
    flag: 'every message in --folder',
    folders: ['bad', 'archive'],
  });
  operation('hold', 'keep a queued message from being delivered until released');
  operation('release', 'release a held message (it is delivered now)');
}

function fail(io: CliIO, message: string): number {
  io.stderr.write(`ims-relay: ${message}\n`);
  return 1;
}
