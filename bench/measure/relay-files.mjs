// Reading what ims-relay wrote: the message store's SQLite index (capture mode's destination, read
// by a second connection beside the relay, as `ims-relay mailbox` is), the event log, and spool
// entries' envelopes.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const Database = createRequire(import.meta.url)('better-sqlite3');
export function storeQuery(spool, sql, fallback) {
  const file = path.join(spool, 'store', 'index.sqlite');
  if (!fs.existsSync(file)) return fallback;
  let db;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true, timeout: 5000 });
    return db.prepare(sql).all();
  } catch {
    return fallback;
  } finally {
    db?.close();
  }
}

// deliveries captured so far (recipient rows in the index)
export function storeCounter(spool) {
  return () => storeQuery(spool, 'SELECT count(*) AS n FROM recipients', [{ n: 0 }])[0].n;
}

// every recipient with captured mail and its number of messages
export function storeCensus(spool) {
  const boxes = {};
  let files = 0;
  for (const r of storeQuery(spool, 'SELECT address, count(*) AS n FROM recipients GROUP BY address', [])) {
    boxes[r.address] = r.n;
    files += r.n;
  }
  return { boxes, files };
}

export function readEvents(file) {
  let text = '';
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const out = [];
  for (const l of text.split('\n')) {
    if (!l) continue;
    try {
      out.push(JSON.parse(l));
    } catch {
      /* a line being written */
    }
  }
  return out;
}

// the envelope of a spool entry: "IMSR/1 <n>\n" then n bytes of JSON
export function readEnvelope(file) {
  const fd = fs.openSync(file, 'r');
  try {
    const head = Buffer.alloc(64);
    const got = fs.readSync(fd, head, 0, 64, 0);
    const nl = head.subarray(0, got).indexOf(10);
    const m = head
      .subarray(0, nl)
      .toString('latin1')
      .match(/^IMSR\/1 (\d+)$/);
    if (!m) throw new Error(`not a spool entry: ${file}`);
    const buf = Buffer.alloc(Number(m[1]));
    fs.readSync(fd, buf, 0, buf.length, nl + 1);
    return JSON.parse(buf.toString('utf8'));
  } finally {
    fs.closeSync(fd);
  }
}

export function findEnvelope(spool, queueId) {
  for (const dir of ['archive', 'out', 'archive', 'in']) {
    const f = path.join(spool, dir, `${queueId}.imsr`);
    try {
      return { ...readEnvelope(f), foundIn: dir };
    } catch (e) {
      if (e.code !== 'ENOENT') throw e;
    }
  }
  return null;
}
