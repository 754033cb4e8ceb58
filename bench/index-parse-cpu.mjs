#!/usr/bin/env node
// CPU time of the parse the message store runs for its index (capture-record.ts: recordOf), without
// SMTP, files or SQLite, for a relay's first messages: 2,000 one-recipient messages of E2's shape
// (smtpload's headers and 2 KB of text), parsed one after the other in a fresh process and timed
// in rounds of 250, so that the cost of code V8 has not optimised yet shows. The first round
// includes loading the parser (a relay in capture mode loads it at start). Run it against two
// builds to compare them.
// Usage: node bench/index-parse-cpu.mjs [--root DIR] [--messages N] [--encoding 7bit|quoted-printable|mime]
// Needs a build (npm run build). Prints one JSON line.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const root = path.resolve(opt('--root', path.join(path.dirname(fileURLToPath(import.meta.url)), '..')));
const messages = Number(opt('--messages', '2000'));
const encoding = opt('--encoding', '7bit');
const ROUND = 250;
const { recordOf } = await import(path.join(root, 'dist/store/capture-record.js'));

const line = 'x'.repeat(76);
function message(i) {
  const head =
    `Return-Path: <bench@example.org>\r\nX-Original-To: user1@example.test\r\nDelivered-To: user1@example.test\r\n` +
    `Received: from client.test by relay.test; Thu, 3 Dec 2026 19:00:00 +0000\r\n` +
    `From: <bench@example.org>\r\nTo: undisclosed-recipients:;\r\nSubject: benchlab ${i}\r\n` +
    `Date: Thu, 3 Dec 2026 19:00:00 +0000\r\nMessage-ID: <${i}@bench.test>\r\n`;
  if (encoding === 'mime')
    return Buffer.from(
      head +
        'MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n' +
        `${line}\r\n`.repeat(13) +
        '--b\r\nContent-Type: text/html\r\n\r\n<p>' +
        `${line}\r\n`.repeat(13) +
        '</p>\r\n--b--\r\n',
    );
  const body =
    encoding === 'quoted-printable' ? `caf=C3=A9 ${line.slice(7)}=\r\n`.repeat(26) : `${line}\r\n`.repeat(26);
  return Buffer.from(
    head + `Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: ${encoding}\r\n\r\n` + body,
  );
}

const rounds = [];
let c0 = process.cpuUsage();
for (let i = 0; i < messages; i++) {
  const r = await recordOf(`id${i}`, `q${i}`, message(i), Date.now());
  if (!r.ok) throw new Error(r.reason);
  if ((i + 1) % ROUND === 0 || i + 1 === messages) {
    const c = process.cpuUsage(c0);
    rounds.push(Math.round((c.user + c.system) / ((i % ROUND) + 1)));
    c0 = process.cpuUsage();
  }
}
const total = rounds.reduce((s, us, k) => s + us * Math.min(ROUND, messages - k * ROUND), 0);
console.log(
  JSON.stringify({
    root,
    messages,
    encoding,
    cpuMs: Math.round(total / 1000),
    microsPerMessageByRound: rounds,
  }),
);
