/** `ims-relay hash-password`: a line for the --users file, from a password read on stdin. */
import type { Command } from 'commander';
import type { CliIO } from './cli-io.js';

export function registerHashPassword(
  program: Command,
  io: CliIO,
  done: (code: number) => void,
  readStdin: () => Promise<string>,
): void {
  program
    .command('hash-password <USER>')
    .description('print a USER:HASH line for --users; the password is read from standard input (one line)')
    .action(async (user: string) => {
      if (!/^[^\s:]+$/.test(user)) {
        io.stderr.write('ims-relay: the user name must not contain spaces or colons\n');
        return done(2);
      }
      const password = (await readStdin()).replace(/\r?\n$/, '');
      if (!password) {
        io.stderr.write(
          'ims-relay: no password on standard input (e.g. printf %s "$PASSWORD" | ims-relay hash-password alice)\n',
        );
        return done(2);
      }
      const { hashPassword } = await import('../server/user-store.js');
      io.stdout.write(`${user}:${hashPassword(password)}\n`);
      done(0);
    });
}
