#!/usr/bin/env node
// Bench SA: one message to N recipients (default 100,000) from nodemailer to ims-relay (hold mode,
// default settings), two ways, each against a fresh relay:
//   sendAll    ims-relay/client's sendAll: transactions of at most 10,000, resending the 452s
//   sendMail   one plain nodemailer sendMail with every recipient in one transaction: the relay
//              takes 32,766 and answers 452 to the rest, which nodemailer reports and drops
// Prints the wall time, transactions and recipients delivered of each. Measurements, not
// assertions; run with `npm run bench:send-all [-- --recipients 100000] [--no-build]`.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import nodemailer from 'nodemailer';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const recipients = Number(args[args.indexOf('--recipients') + 1] || 0) || 100_000;
if (!args.includes('--no-build')) {
  const built = spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit' });
  if (built.status !== 0) process.exit(1);
}
const { sendAll } = await import(path.join(ROOT, 'dist', 'client', 'index.js'));

async function startRelay() {
  const spool = fs.mkdtempSync(path.join(os.tmpdir(), 'ims-bench-send-all-'));
  const child = spawn(
    process.execPath,
    [
      path.join(ROOT, 'bin', 'ims-relay.js'),
      'serve',
      '--smtp',
      '127.0.0.1:0',
      '--http',
      'off',
      '--mode',
      'hold',
      '--spool',
      spool,
      '--log-level',
      'warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: withoutRelayVariables() },
  );
  const port = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`relay did not start:\n${out}`)), 30_000);
    const read = (chunk) => {
      out += chunk;
      const m = /SMTP on [^\s:]+:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    child.stdout.on('data', read);
    child.stderr.on('data', read);
    child.once('exit', (code) => reject(new Error(`relay exited (${code}):\n${out}`)));
  });
  return {
    port,
    stop: async () => {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      fs.rmSync(spool, { recursive: true, force: true });
    },
  };
}

function withoutRelayVariables() {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('IMS_RELAY_')));
}

const to = Array.from({ length: recipients }, (_, i) => `user${i + 1}@example.test`);
const message = {
  from: 'bench@example.test',
  to: 'undisclosed-recipients:;',
  bcc: to,
  subject: 'bench',
  text: 'x',
};
const rows = [];

{
  const relay = await startRelay();
  const started = performance.now();
  const result = await sendAll({ host: '127.0.0.1', port: relay.port, ignoreTLS: true }, message);
  const ms = performance.now() - started;
  rows.push({
    way: 'sendAll',
    ms,
    transactions: result.transactions.length,
    delivered: result.accepted.length,
    notDelivered: result.rejected.length + result.deferred.length,
  });
  await relay.stop();
}
{
  const relay = await startRelay();
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port: relay.port, ignoreTLS: true });
  const started = performance.now();
  let row;
  try {
    const info = await transport.sendMail(message);
    row = { transactions: 1, delivered: info.accepted.length, notDelivered: info.rejected.length };
  } catch (err) {
    row = {
      transactions: 0,
      delivered: 0,
      notDelivered: recipients,
      error: String(err.response ?? err.message),
    };
  }
  rows.push({ way: 'sendMail', ms: performance.now() - started, ...row });
  transport.close();
  await relay.stop();
}

console.log(
  `\nSA: one message to ${recipients.toLocaleString('en')} recipients, nodemailer -> ims-relay (hold)`,
);
for (const r of rows) {
  console.log(
    `${r.way.padEnd(9)} ${(r.ms / 1000).toFixed(2).padStart(7)} s  ${String(r.transactions).padStart(3)} transaction(s)  ` +
      `${r.delivered.toLocaleString('en')} delivered, ${r.notDelivered.toLocaleString('en')} not${r.error ? `  (${r.error})` : ''}`,
  );
}
