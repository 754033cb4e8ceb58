/**
 * `<spool>/ims-relay.json`: where the relay that owns the spool can be reached (its PID, SMTP and
 * HTTP addresses). Written at start, removed at stop; the CLI tools read it to find a running relay.
 */
import fs from 'node:fs';
import path from 'node:path';

export interface RuntimeInfo {
  pid: number;
  smtp: string;
  http: string | null;
  startedAt: string;
}

const FILE = 'ims-relay.json';

export function writeRuntimeInfo(spoolDir: string, info: RuntimeInfo): void {
  const file = path.join(spoolDir, FILE);
  fs.writeFileSync(file + '.tmp', JSON.stringify(info) + '\n', { mode: 0o600 });
  fs.renameSync(file + '.tmp', file);
}

export function removeRuntimeInfo(spoolDir: string): void {
  fs.rmSync(path.join(spoolDir, FILE), { force: true });
}

/** The running relay's info, if the file exists and its process is alive. */
export function readRuntimeInfo(spoolDir: string): RuntimeInfo | undefined {
  let info: RuntimeInfo;
  try {
    info = JSON.parse(fs.readFileSync(path.join(spoolDir, FILE), 'utf8')) as RuntimeInfo;
  } catch {
    return undefined;
  }
  try {
    process.kill(info.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return undefined;
  }
  return info;
}
