/**
 * Opening a file the spool reads without trusting it: a symbolic link is never followed
 * (`O_NOFOLLOW`: ELOOP), a FIFO or device never blocks the opener (`O_NONBLOCK`), and whatever was
 * opened must be a regular file (checked on the descriptor with fstat, so nothing can be swapped in
 * between the check and the read). Expected refusals are values, with the reason and errno code.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';

const { O_RDONLY, O_NOFOLLOW, O_NONBLOCK } = fs.constants;

/** Errors that a later try may not meet: a lock (antivirus, Q317653), no permission for now, out of descriptors. */
export const TRANSIENT_OPEN_ERRORS = new Set([
  'EACCES',
  'EPERM',
  'EBUSY',
  'EAGAIN',
  'EMFILE',
  'ENFILE',
  'EIO',
]);

export type OpenedFile =
  | { ok: true; handle: fsp.FileHandle; size: number }
  | { ok: false; reason: string; code: string; transient: boolean };

/** What a non-regular file is, for the reason given. */
export function fileKind(stats: fs.Stats): string {
  if (stats.isSymbolicLink()) return 'a symbolic link';
  if (stats.isDirectory()) return 'a directory';
  if (stats.isFIFO()) return 'a FIFO';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  if (stats.isSocket()) return 'a socket';
  return 'not a regular file';
}

/** Opens `file` for reading if, and only if, it is a regular file and not a symbolic link. */
export async function openRegularFile(file: string, extraFlags = 0): Promise<OpenedFile> {
  let handle: fsp.FileHandle;
  try {
    handle = await fsp.open(file, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | extraFlags);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    if (code === 'ELOOP')
      return { ok: false, reason: 'is a symbolic link (not followed)', code, transient: false };
    return {
      ok: false,
      reason: `cannot read: ${(err as Error).message}`,
      code,
      transient: TRANSIENT_OPEN_ERRORS.has(code),
    };
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) {
      await handle.close();
      return {
        ok: false,
        reason: `is ${fileKind(stats)}, not a regular file`,
        code: 'ENOTREG',
        transient: false,
      };
    }
    return { ok: true, handle, size: stats.size };
  } catch (err) {
    await handle.close().catch(() => undefined);
    const code = (err as NodeJS.ErrnoException).code ?? '';
    return {
      ok: false,
      reason: `cannot read: ${(err as Error).message}`,
      code,
      transient: TRANSIENT_OPEN_ERRORS.has(code),
    };
  }
}

/** Reads a whole regular file (never through a link, never a FIFO). */
export async function readRegularFile(
  file: string,
): Promise<{ ok: true; bytes: Buffer } | { ok: false; reason: string; code: string; transient: boolean }> {
  const opened = await openRegularFile(file);
  if (!opened.ok) return opened;
  try {
    return { ok: true, bytes: await opened.handle.readFile() };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    return {
      ok: false,
      reason: `cannot read: ${(err as Error).message}`,
      code,
      transient: TRANSIENT_OPEN_ERRORS.has(code),
    };
  } finally {
    await opened.handle.close().catch(() => undefined);
  }
}

/** Gives a file moved to bad/ mode 0600, unless it is a symbolic link (whose target is not ours). */
export async function restrictMode(file: string): Promise<void> {
  try {
    const stats = await fsp.lstat(file);
    if (!stats.isSymbolicLink()) await fsp.chmod(file, 0o600);
  } catch {
    // gone meanwhile, or not ours to change: the move itself is what matters
  }
}
