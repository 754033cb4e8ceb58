/** A real small disk for disk-full tests: a tmpfs mounted at a new folder (needs root). */
import { execFileSync } from 'node:child_process';
import { tempDir } from './test-relay.js';

/** Mounts a tmpfs of `size` at a new folder; undefined when this machine does not allow it. */
export function smallDisk(size: string): { dir: string; unmount: () => void } | undefined {
  const dir = tempDir('ims-tmpfs-');
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0755`, 'tmpfs', dir], { stdio: 'ignore' });
  } catch {
    return undefined;
  }
  return { dir, unmount: () => execFileSync('umount', ['-l', dir], { stdio: 'ignore' }) };
}

/** Whether this machine lets the tests mount a tmpfs (root, and mount allowed). */
export const canMount = (() => {
  const probe = process.getuid?.() === 0 ? smallDisk('1m') : undefined;
  probe?.unmount();
  return Boolean(probe);
})();
