// The servers that may be running and must be stopped (at the end, on error and on a signal).
import { removeRunFiles } from './run-files.mjs';

/** Each server object: { name, check() -> reason | null, start() -> {port, pid}, stop(), drain?() }. */
export const started = new Set();

export async function stopAll() {
  for (const s of [...started]) {
    try {
      await s.stop();
    } catch (e) {
      console.error(`stopping ${s.name}: ${e.message}`);
    }
  }
  removeRunFiles();
}
