import fs from 'node:fs';
import path from 'node:path';

export type LockResult =
  | {
      ok: true;
      release: () => void;
      /** The PID of an earlier owner that did not stop cleanly (its file was left behind), if any. */
      uncleanPid?: number;
    }
  | { ok: false; message: string };

function isAlive(pid: number): boolean {
  if (pid === process.pid) return false; // our own PID in a stale file: a restarted container's PID 1
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Makes this process the only owner of a spool: `<spool>/ims-relay.pid` is created exclusively
 * and holds our PID. A file left by a process that no longer runs (killed, crashed) is taken over.
 */
export function acquireSpoolLock(spoolDir: string): LockResult {
  const file = path.join(spoolDir, 'ims-relay.pid');
  let uncleanPid: number | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      fs.writeFileSync(file, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
      return {
        ok: true,
        ...(uncleanPid !== undefined ? { uncleanPid } : {}),
        release: () => {
          try {
            if (fs.readFileSync(file, 'utf8').trim() === String(process.pid)) fs.unlinkSync(file);
          } catch {
            // already gone
          }
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        return { ok: false, message: `cannot lock the spool ${spoolDir}: ${(err as Error).message}` };
      }
    }
    let pid = NaN;
    try {
      pid = Number(fs.readFileSync(file, 'utf8').trim());
    } catch {
      continue; // removed meanwhile: try again
    }
    if (Number.isInteger(pid) && pid > 0 && isAlive(pid)) {
      return {
        ok: false,
        message: `the spool ${spoolDir} is in use by another ims-relay (PID ${pid}); stop it first or choose another --spool`,
      };
    }
    fs.rmSync(file, { force: true }); // stale: its owner is gone without removing it
    uncleanPid = Number.isInteger(pid) ? pid : 0;
  }
  return { ok: false, message: `cannot lock the spool ${spoolDir}: ${file} keeps changing` };
}
