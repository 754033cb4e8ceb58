/**
 * The spool folders that hold queue entries, on their own so that the command line can check a
 * `--folder` without loading the spool's code.
 */
/** Folders that hold spool entries (as opposed to pickup files, logs and temporaries). */
export type QueueFolder = 'in' | 'out' | 'bad' | 'archive';

export const QUEUE_FOLDERS: readonly QueueFolder[] = ['in', 'out', 'bad', 'archive'];
