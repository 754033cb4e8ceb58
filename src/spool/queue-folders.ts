/**
 * The spool's folders and the suffixes of its file names, on their own so that the command line
 * can check a `--folder`, and count a folder, without loading the spool's code.
 */
import fs from 'node:fs';
import path from 'node:path';

/** Folders that hold spool entries (as opposed to pickup files, logs and temporaries). */
export type QueueFolder = 'in' | 'out' | 'bad' | 'archive';

export const QUEUE_FOLDERS: readonly QueueFolder[] = ['in', 'out', 'bad', 'archive'];

export const SPOOL_FOLDERS = ['pickup', 'in', 'out', 'bad', 'archive', 'log', 'tmp'] as const;
export type SpoolFolder = (typeof SPOOL_FOLDERS)[number];

export const ENTRY_SUFFIX = '.imsr';
export const JOURNAL_SUFFIX = '.journal';

/** Creates the spool directory and its folders (mode 0700) where they are missing. */
export function createSpoolFolders(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (const folder of SPOOL_FOLDERS) fs.mkdirSync(path.join(dir, folder), { recursive: true, mode: 0o700 });
}
