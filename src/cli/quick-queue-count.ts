/**
 * `ims-relay queue list --count` answered before the command line is loaded. Starting Node takes
 * about half of the 200 ms such a count may take over 100,000 entries, reading the folder's names
 * about a fifth; commander, the commands and the spool's code took most of the rest. So the plain
 * form of the command — `queue list --count` with `--folder`, `--spool`, `--json` and nothing else,
 * no config file, no `IMS_RELAY_*` setting but the spool and the admin token, no relay running on
 * the spool — is recognized here and counted with the folder's names only, holding the spool lock
 * as the full command does. Anything else, and any case this does not handle (the relay runs, the
 * spool is locked, a read fails), is left to the full command line, which then does all of it
 * again and says what it says: the answer is the same either way, only slower.
 */
import path from 'node:path';
import { countEntryNamesSync } from '../spool/folder-names.js';
import { createSpoolFolders, type QueueFolder } from '../spool/queue-folders.js';
import { readRuntimeInfo } from '../spool/runtime-info.js';
import { acquireSpoolLock } from '../spool/spool-lock.js';
import type { CliIO } from './cli-io.js';
import { countLine } from './queue-list-format.js';

/** The folders counted here: bad/ also lists quarantined pickup files, which the full command reads. */
const COUNTED_HERE: readonly QueueFolder[] = ['in', 'out', 'archive'];

/** The environment variables of the settings a queue command reads (see tool-config.ts). */
const QUEUE_SETTINGS_ENV = new Set(['IMS_RELAY_SPOOL', 'IMS_RELAY_ADMIN_TOKEN']);

interface CountRequest {
  folder: QueueFolder;
  spool: string | undefined;
  json: boolean;
}

/** The options after `queue list`, if they are the plain count's and nothing else (each once). */
function parseCount(args: string[]): CountRequest | undefined {
  const seen = new Set<string>();
  let folder: string = 'in';
  let spool: string | undefined;
  for (let i = 0; i < args.length; i++) {
    let arg = args[i]!;
    let value: string | undefined;
    const eq = arg.indexOf('=');
    if (arg.startsWith('--') && eq > 0) {
      value = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    }
    if (seen.has(arg)) return undefined;
    seen.add(arg);
    if (arg === '--count' || arg === '--json') {
      if (value !== undefined) return undefined;
    } else if (arg === '--folder' || arg === '--spool') {
      if (value === undefined) {
        value = args[++i];
        if (value === undefined || value.startsWith('-')) return undefined;
      }
      if (arg === '--folder') folder = value;
      else spool = value;
    } else return undefined;
  }
  if (!seen.has('--count') || !COUNTED_HERE.includes(folder as QueueFolder)) return undefined;
  return { folder: folder as QueueFolder, spool, json: seen.has('--json') };
}

/**
 * The exit code if the command was the plain count and it was done here; undefined if the full
 * command line is to run it (nothing has been written then).
 */
export function quickQueueCount(argv: string[], io: Pick<CliIO, 'stdout' | 'env'>): number | undefined {
  if (argv[2] !== 'queue' || argv[3] !== 'list') return undefined;
  const request = parseCount(argv.slice(4));
  if (!request) return undefined;
  for (const [name, value] of Object.entries(io.env))
    if (name.startsWith('IMS_RELAY_') && !QUEUE_SETTINGS_ENV.has(name) && value !== undefined && value !== '')
      return undefined;
  const fromEnv = io.env.IMS_RELAY_SPOOL;
  const spoolText = (request.spool || (fromEnv !== undefined && fromEnv !== '' ? fromEnv : './spool')).trim();
  if (spoolText === '') return undefined;
  const spool = path.resolve(spoolText);
  if (readRuntimeInfo(spool)) return undefined; // the relay runs: the count goes through its API
  let count: number;
  try {
    createSpoolFolders(spool);
    const lock = acquireSpoolLock(spool);
    if (!lock.ok) return undefined;
    try {
      count = countEntryNamesSync(path.join(spool, request.folder));
    } finally {
      lock.release();
    }
  } catch {
    return undefined;
  }
  io.stdout.write(countLine(request.folder, count, request.json));
  return 0;
}
