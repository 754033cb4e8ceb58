// Where the floor and ims-relay runs keep their files, and the copy of the relay's build that every
// ims-relay run starts from.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BENCHLAB, ROOT } from '../lib/paths.mjs';

// Where the floor and ims-relay runs keep their files. On this VM's ext4 (no journal), making a
// file costs time in proportion to the inodes deleted in its block group within the last minutes
// (the kernel's recently_deleted() check: up to ~1 ms per file after a few thousand deletions),
// so a run that creates files right after another run's files were deleted pays for that
// deletion. To keep each server paying only for what it does itself:
//   - every run gets a new folder, and none is deleted before the bench ends;
//   - the folders' parent has the ext4 "top directory" flag (chattr +T), so that each new folder
//     is placed in another block group, away from what Postfix deletes in its own queue.
// Postfix keeps its queue where the lab put it, and pays for its own deletions, as it would in
// any sustained run on this file system.
let runFolders = null; // the parent of every run's folder, made at the first run
export function newRunFolder(prefix) {
  if (!runFolders) {
    const base = fs.existsSync(BENCHLAB) ? BENCHLAB : os.tmpdir();
    runFolders = fs.mkdtempSync(path.join(base, 'bench-runs-'));
    const r = spawnSync('chattr', ['+T', runFolders], { encoding: 'utf8', timeout: 10000 });
    if (r.status !== 0)
      console.log(
        `note: chattr +T ${runFolders} failed (${(r.stderr || r.error?.message || '').trim()}): run folders share block groups`,
      );
  }
  return fs.mkdtempSync(path.join(runFolders, prefix));
}

// a copy of the relay as built now: bin/, dist/, package.json, and a link to node_modules
const snapshots = new Set();
let buildInfo = null; // { at, git } of the copy the ims-relay runs use
export function snapshotBuild() {
  const base = fs.existsSync(BENCHLAB) ? BENCHLAB : os.tmpdir();
  const dir = fs.mkdtempSync(path.join(base, 'ims-build-'));
  snapshots.add(dir);
  for (const d of ['bin', 'dist']) fs.cpSync(path.join(ROOT, d), path.join(dir, d), { recursive: true });
  fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(dir, 'package.json'));
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  buildInfo = { at: new Date().toISOString(), git: gitState() };
  return dir;
}

// the commit and the uncommitted files the measured build came from (read-only git commands)
function gitState() {
  const git = (...a) => spawnSync('git', a, { cwd: ROOT, encoding: 'utf8', timeout: 10000 });
  const head = git('rev-parse', '--short', 'HEAD');
  if (head.status !== 0) return null;
  const dirty = git('status', '--porcelain', '--', 'src', 'bin', 'package.json');
  return {
    commit: head.stdout.trim(),
    uncommitted: (dirty.stdout || '')
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => l.slice(3)),
  };
}

/** Removes every run folder and build copy (at the end of the bench). */
export function removeRunFiles() {
  for (const d of snapshots) fs.rmSync(d, { recursive: true, force: true });
  snapshots.clear();
  if (runFolders) fs.rmSync(runFolders, { recursive: true, force: true });
  runFolders = null;
}

/** The build the ims-relay runs use: { at, git }, or null before the first copy. */
export const copiedBuild = () => buildInfo;
