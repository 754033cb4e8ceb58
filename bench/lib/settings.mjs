// The command line (see bench/README.md) and what follows from it for every module: the parsed
// options, CPU pinning of servers and clients, the environment of the lab's scripts, and whether
// a signal interrupted the run.
import os from 'node:os';
import { BENCHLAB } from './paths.mjs';
import { which } from './processes.mjs';

/** Filled by configure(); read by the targets, the workloads and the report. */
export const settings = {
  opt: null,
  pin: false,
  serverPin: [],
  clientPin: [],
  smtpSource: null,
  labEnv: process.env,
};
/** Set when SIGINT/SIGTERM/SIGHUP arrives: loops end, nothing is written. */
export const state = { interrupted: false };

/** `names`: the target names by id; `workloads`: the workload table (both in canonical order). */
export function configure(argv, names, workloads) {
  const opt = parseArgs(argv, names, workloads);
  const taskset = which('taskset');
  const pin = opt.pin && !!taskset && os.cpus().length >= 2;
  const labEnv = { ...process.env, BENCHLAB, ...(pin ? { SERVER_TASKSET: `${taskset} -c 0` } : {}) };
  if (!pin) delete labEnv.SERVER_TASKSET;
  Object.assign(settings, {
    opt,
    pin,
    serverPin: pin ? [taskset, '-c', '0'] : [],
    clientPin: pin ? [taskset, '-c', '1'] : [],
    smtpSource: which('smtp-source', ['/usr/sbin', '/usr/local/sbin']),
    labEnv,
  });
  return settings;
}

function parseArgs(argv, TARGET_NAMES, WORKLOADS) {
  const o = {
    runs: 3,
    targets: ['postfix', 'floor', 'ims'],
    // every workload but the ones marked optIn (W1x100k, W1x300k, DEEP100k: on request)
    workloads: Object.keys(WORKLOADS).filter((w) => !WORKLOADS[w].optIn),
    relayArgs: [],
    timeoutMs: 300000,
    build: true,
    pin: true,
    deepMessages: 100000,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) usage(`missing value for ${a}`);
      return argv[++i];
    };
    if (a === '--runs') o.runs = Number(val());
    else if (a === '--quick') o.runs = 1;
    else if (a === '--targets')
      o.targets = val()
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    else if (a === '--workloads')
      o.workloads = val()
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    else if (a === '--relay-args') o.relayArgs = splitArgs(val());
    else if (a === '--timeout-ms') o.timeoutMs = Number(val());
    else if (a === '--no-build') o.build = false;
    else if (a === '--no-pin') o.pin = false;
    else if (a === '--deep-messages') o.deepMessages = Number(val());
    else if (a === '--help' || a === '-h') usage();
    else usage(`unknown option ${a}`);
  }
  if (!Number.isInteger(o.runs) || o.runs < 1 || o.runs > 20) usage('--runs must be 1..20');
  if (!Number.isInteger(o.deepMessages) || o.deepMessages < 1 || o.deepMessages > 1000000)
    usage('--deep-messages must be 1..1000000');
  if (!(o.timeoutMs >= 1000 && o.timeoutMs <= 3600000)) usage('--timeout-ms must be 1000..3600000');
  for (const t of o.targets) if (!TARGET_NAMES[t]) usage(`unknown target ${t}`);
  for (const w of o.workloads) if (!WORKLOADS[w]) usage(`unknown workload ${w}`);
  // keep the canonical order whatever order was given
  o.targets = Object.keys(TARGET_NAMES).filter((t) => o.targets.includes(t));
  o.workloads = Object.keys(WORKLOADS).filter((w) => o.workloads.includes(w));
  return o;
}

export function usage(err) {
  if (err) console.error(`run.mjs: ${err}`);
  console.error(
    'usage: npm run bench -- [--runs N (default 3)] [--quick] [--targets postfix,floor,ims]\n' +
      '                       [--workloads W1,W1x100k,W1x300k,W2,W2c,W3,W2haproxy,E2,E3,E4,NDR32766,NDR100000,DEEP100k]\n' +
      '                       [--relay-args "..."] [--timeout-ms MS] [--deep-messages N (default 100000)]\n' +
      '                       [--no-build] [--no-pin]',
  );
  process.exit(err ? 2 : 0);
}

// minimal shell-like split: whitespace separated, '...' and "..." group, no escapes
function splitArgs(s) {
  const out = [];
  const re = /"([^"]*)"|'([^']*)'|(\S+)/g;
  let m;
  while ((m = re.exec(s))) out.push(m[1] ?? m[2] ?? m[3]);
  return out;
}
