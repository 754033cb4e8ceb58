/**
 * `ims-relay events`: the event log, filtered by ID and time, as a table or JSON lines; with
 * --follow it keeps printing new events until interrupted. Reads the events file directly.
 */
import fs from 'node:fs';
import type { Command } from 'commander';
import type { RelayEvent } from '../events/event-log.js';
import type { EventFilter } from '../events/event-reader.js';
import type { CliIO } from './cli-io.js';
import { resolveToolConfig } from './tool-config.js';

function format(e: RelayEvent, json: boolean): string {
  if (json) return JSON.stringify(e);
  return `${e.time}  ${e.id}  ${e.type.padEnd(11)} ${e.category.padEnd(19)} ${(e.queueId ?? '').padEnd(22)} ${e.message}`;
}

export function registerEvents(program: Command, io: CliIO, done: (code: number) => void): void {
  program
    .command('events')
    .description('print the event log (IMS-style event IDs, see docs/events.md)')
    .option('--id <N>', 'only this event ID, e.g. 3041')
    .option('--since <TIME>', 'only events at or after this time (ISO 8601, e.g. 2026-11-21T12:00:00Z)')
    .option('--limit <N>', 'only the latest N')
    .option('--follow', 'keep printing new events until interrupted')
    .option('--json', 'JSON lines, as in the events file')
    .option('--spool <DIR>', 'the spool whose log/events.jsonl to read')
    .option('--events <FILE>', 'the events file (default <spool>/log/events.jsonl)')
    .option('--config <FILE>', 'config file')
    .action(
      async (o: {
        id?: string;
        since?: string;
        limit?: string;
        follow?: boolean;
        json?: boolean;
        spool?: string;
        events?: string;
        config?: string;
      }) => {
        const resolved = await resolveToolConfig(o, io);
        if (!resolved.ok) return done(2);
        const file = o.events ?? resolved.config.events;
        const filter: EventFilter = {};
        if (o.id !== undefined) {
          if (!/^\d+$/.test(o.id))
            return usage(io, done, `--id must be an event ID such as 3041, got "${o.id}"`);
          filter.id = Number(o.id);
        }
        if (o.since !== undefined) {
          const since = new Date(o.since);
          if (Number.isNaN(since.getTime()))
            return usage(io, done, `--since must be a time such as 2026-11-21T12:00:00Z, got "${o.since}"`);
          filter.since = since;
        }
        if (o.limit !== undefined) {
          if (!/^\d+$/.test(o.limit)) return usage(io, done, `--limit must be a number, got "${o.limit}"`);
          filter.limit = Number(o.limit);
        }
        if (!fs.existsSync(file) && !o.follow) {
          io.stderr.write(`ims-relay: no events file at ${file}\n`);
          return done(1);
        }
        const { matches, readEvents } = await import('../events/event-reader.js');
        for (const e of await readEvents(file, filter)) io.stdout.write(format(e, Boolean(o.json)) + '\n');
        if (!o.follow) return done(0);
        // follow: read what is appended, line by line, until SIGINT/SIGTERM
        let offset = fs.existsSync(file) ? fs.statSync(file).size : 0;
        let partial = '';
        const poll = () => {
          let size: number;
          try {
            size = fs.statSync(file).size;
          } catch {
            return;
          }
          if (size < offset) offset = 0; // the file was replaced
          if (size === offset) return;
          const fd = fs.openSync(file, 'r');
          const buf = Buffer.alloc(size - offset);
          fs.readSync(fd, buf, 0, buf.length, offset);
          fs.closeSync(fd);
          offset = size;
          const lines = (partial + buf.toString('utf8')).split('\n');
          partial = lines.pop() ?? '';
          for (const line of lines) {
            try {
              const e = JSON.parse(line) as RelayEvent;
              if (matches(e, filter)) io.stdout.write(format(e, Boolean(o.json)) + '\n');
            } catch {
              // not a complete event line
            }
          }
        };
        const timer = setInterval(poll, 200);
        await io.stopSignal();
        clearInterval(timer);
        poll();
        done(0);
      },
    );
}

function usage(io: CliIO, done: (code: number) => void, message: string): void {
  io.stderr.write(`ims-relay: ${message}\n`);
  done(2);
}
