// Where the bench finds the project, the benchmark lab (../shared/bench, or BENCH_LAB_DIR) and its
// work folder (BENCHLAB, default /tmp/benchlab), and where it writes its results.
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const LAB = path.resolve(process.env.BENCH_LAB_DIR || path.join(ROOT, '..', 'shared', 'bench'));
export const BENCHLAB = path.resolve(process.env.BENCHLAB || '/tmp/benchlab');
export const RESULTS_DIR = path.join(ROOT, 'bench', 'results');
export const SMTPLOAD = path.join(LAB, 'smtpload.mjs');
export const SERVERS_SH = path.join(LAB, 'servers.sh');
export const MARK_START = pathToFileURL(path.join(ROOT, 'bench', 'mark-start.mjs')).href;
/** The lab Postfix instance's configuration directory. */
export const PFC = path.join(BENCHLAB, 'postfix', 'etc');
