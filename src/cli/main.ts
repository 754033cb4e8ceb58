/**
 * The `ims-relay` command line. The only module besides bin/ that deals with argv, the
 * environment, signals and exit codes: 0 success, 1 runtime failure, 2 bad usage or configuration.
 * The plain `queue list --count` is answered before the rest of the command line is loaded
 * (quick-queue-count.ts); every other command is parsed by command-line.ts.
 */
import type { CliIO } from './cli-io.js';
import { quickQueueCount } from './quick-queue-count.js';

export type { CliIO } from './cli-io.js';

const processIO = (): CliIO => ({
  // looked up when first written to: creating the streams costs a few ms the quick count can spare
  get stdout() {
    return process.stdout;
  },
  get stderr() {
    return process.stderr;
  },
  env: process.env,
  readStdin: async () => {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  },
  stopSignal: () =>
    new Promise((resolve) => {
      const on = (signal: NodeJS.Signals) => {
        process.off('SIGTERM', on);
        process.off('SIGINT', on);
        resolve(signal);
      };
      process.on('SIGTERM', on);
      process.on('SIGINT', on);
    }),
});

export async function main(argv: string[], io: CliIO = processIO()): Promise<number> {
  const counted = quickQueueCount(argv, io);
  if (counted !== undefined) return counted;
  const { runCommandLine } = await import('./command-line.js');
  return runCommandLine(argv, io);
}
