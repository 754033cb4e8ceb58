// What a server uses: its memory (VmHWM/VmRSS over its process tree, read from /proc) and its CPU
// time. MB = 10^6 bytes (the kernel reports KiB).
import fs from 'node:fs';

export const kbToMB = (kb) => (kb == null ? null : +((kb * 1024) / 1e6).toFixed(1)); // MB = 10^6 bytes

export function procStatus(pid) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const get = (k) => {
      const m = s.match(new RegExp(`^${k}:\\s+(\\d+)`, 'm'));
      return m ? Number(m[1]) : null;
    };
    const name = (s.match(/^Name:\s+(\S+)/m) || [])[1] || '?';
    return { pid, name, hwmKB: get('VmHWM'), rssKB: get('VmRSS') };
  } catch {
    return null;
  }
}

// pid plus all its descendants (scan of /proc/*/stat)
export function processTree(rootPid) {
  const children = new Map();
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const st = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[1]);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push(Number(d));
    } catch {
      /* gone */
    }
  }
  const out = [];
  const stack = [rootPid];
  while (stack.length) {
    const p = stack.pop();
    out.push(p);
    for (const c of children.get(p) || []) stack.push(c);
  }
  return out;
}

// memory of a server: root process and the sum over its process tree (shared pages counted per process)
export function memory(rootPid) {
  if (!rootPid) return null;
  const procs = processTree(rootPid)
    .map(procStatus)
    .filter((p) => p && p.hwmKB != null);
  if (!procs.length) return null;
  const root = procs.find((p) => p.pid === rootPid) || procs[0];
  return {
    processes: procs.length,
    hwmKB: procs.reduce((a, p) => a + p.hwmKB, 0),
    rssKB: procs.reduce((a, p) => a + p.rssKB, 0),
    rootHwmKB: root.hwmKB,
    rootRssKB: root.rssKB,
  };
}

const TICKS_PER_SECOND = 100; // clock ticks (USER_HZ) on Linux
/** CPU time (user + system, ms) a process and its descendants used so far; null when it is gone. */
export function cpuMs(rootPid) {
  let ticks = 0;
  let found = false;
  for (const pid of processTree(rootPid)) {
    try {
      const st = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
      ticks += Number(f[11]) + Number(f[12]);
      found = true;
    } catch {
      /* gone */
    }
  }
  return found ? (ticks * 1000) / TICKS_PER_SECOND : null;
}
