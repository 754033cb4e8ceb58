/** `ims-relay mailbox list | show ADDRESS`: what capture mode delivered, read from the Maildirs. */
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { summarizeMail } from '../message/parse-mail.js';
import { listMailboxes, mailboxMessages } from '../delivery/mailbox-listing.js';
import type { CliIO } from './cli-io.js';
import { resolveToolConfig } from './tool-config.js';

export function registerMailbox(program: Command, io: CliIO, done: (code: number) => void): void {
  const mailbox = program
    .command('mailbox')
    .description('capture-mode mailboxes (Maildirs under <spool>/mailboxes)');
  const common = (c: Command) =>
    c
      .option('--spool <DIR>', 'the spool (default ./spool or IMS_RELAY_SPOOL)')
      .option('--config <FILE>', 'config file')
      .option('--json', 'JSON output');

  common(mailbox.command('list'))
    .description('the mailboxes and how many messages each holds')
    .action((o: { spool?: string; config?: string; json?: boolean }) => {
      const resolved = resolveToolConfig(o, io);
      if (!resolved.ok) return done(2);
      const boxes = listMailboxes(path.join(resolved.config.spool, 'mailboxes'));
      if (o.json) io.stdout.write(JSON.stringify(boxes, null, 2) + '\n');
      else if (boxes.length === 0) io.stdout.write('no mailboxes yet\n');
      else for (const b of boxes) io.stdout.write(`${String(b.messages).padStart(7)}  ${b.mailbox}\n`);
      done(0);
    });

  common(mailbox.command('show <ADDRESS>'))
    .description('the messages delivered to one address: file, subject, sender, date')
    .action(async (address: string, o: { spool?: string; config?: string; json?: boolean }) => {
      const resolved = resolveToolConfig(o, io);
      if (!resolved.ok) return done(2);
      const messages = mailboxMessages(path.join(resolved.config.spool, 'mailboxes'), address);
      if (messages.length === 0) {
        io.stderr.write(`ims-relay: no messages for ${address}\n`);
        return done(1);
      }
      const rows = await Promise.all(
        messages.map(async (m) => {
          const mail = await summarizeMail(fs.readFileSync(m.path), 0);
          return {
            file: m.file,
            queueId: m.queueId,
            subject: mail.subject ?? '',
            from: mail.from ?? '',
            date: mail.date ?? '',
            path: m.path,
          };
        }),
      );
      if (o.json) io.stdout.write(JSON.stringify(rows, null, 2) + '\n');
      else
        for (const r of rows)
          io.stdout.write(`${r.date}  ${r.queueId ?? ''}  ${r.from}  ${r.subject}\n    ${r.path}\n`);
      done(0);
    });
}
