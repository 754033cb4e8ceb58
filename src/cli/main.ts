/**
 * The `ims-relay` command line. The only module besides bin/ that deals with argv, the
 * environment, signals and exit codes: 0 success, 1 runtime failure, 2 bad usage or configuration.
 */
import { Command, CommanderError } from 'commander';
import { VERSION } from '../version.js';
import type { CliIO } from './cli-io.js';
import { registerEvents } from './events-command.js';
import { registerHashPassword } from './hash-password-command.js';
import { registerHealth } from './health-command.js';
import { registerMailbox } from './mailbox-command.js';
import { registerQueue } from './queue-command.js';
import { registerServe } from './serve-command.js';

export type { CliIO } from './cli-io.js';

const processIO = (): CliIO => ({
  stdout: process.stdout,
  stderr: process.stderr,
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
  let exitCode = 0;
  const program = new Command()
    .name('ims-relay')
    .description(
      'SMTP relay and test server with the recipient semantics of the Exchange 5.5 Internet Mail Service:\n' +
        '250 for recipients 1..32,766 of a transaction, 452 after that, a durable spool and an IMS-style event log.',
    )
    .version(VERSION)
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    })
    .showHelpAfterError('(run with --help for usage)');

  const done = (code: number) => {
    exitCode = code;
  };
  registerServe(program, io, done);
  registerHealth(program, io, done);
  registerQueue(program, io, done);
  registerEvents(program, io, done);
  registerMailbox(program, io, done);
  registerHashPassword(program, io, done, io.readStdin);

  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.exitCode === 0 ? 0 : 2;
    }
    throw err;
  }
  return exitCode;
}
