import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/ims-relay.js');

export interface RelayProcess {
  child: ChildProcess;
  port: number;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the exit code (or the signal name). */
  exited: Promise<number | string>;
}

/** Runs `ims-relay ARGS` (the built CLI) and collects its output. */
export function runCli(args: string[], env: Record<string, string> = {}, as?: { uid: number; gid: number }) {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(as ?? {}),
  });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<number | string>((resolve) =>
    child.on('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')),
  );
  return { child, exited, stdout: () => out, stderr: () => err };
}

/** Starts `ims-relay serve` in a child process and waits for its ready line. */
export async function startRelayProcess(
  args: string[],
  env: Record<string, string> = {},
  as?: { uid: number; gid: number },
): Promise<RelayProcess> {
  const run = runCli(
    ['serve', '--smtp', '127.0.0.1:0', '--http', '127.0.0.1:0', '--log-level', 'warn', ...args],
    env,
    as,
  );
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ready line; stderr: ${run.stderr()}`)), 15_000);
    const check = () => {
      const m = /SMTP on [^\s,]+:(\d+),/.exec(run.stdout());
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    run.child.stdout!.on('data', check);
    void run.exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before ready; stderr: ${run.stderr()}`));
    });
  });
  return { ...run, port };
}
