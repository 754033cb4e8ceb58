/**
 * The `ims-relay` commands, parsed with commander: everything the command line does but the plain
 * queue count (quick-queue-count.ts), which main.ts answers before it loads this.
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

export async function runCommandLine(argv: string[], io: CliIO): Promise<number> {
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
