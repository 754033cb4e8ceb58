/**
 * startRelay's failure paths (issue 14 items 5 and 6): a bad or misspelt option and a busy port
 * are refused with a clear message, and no temporary spool is left behind.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startRelay, type TestRelayOptions } from '../src/test-api.js';

let tmp: string;
let previous: string | undefined;
beforeEach(() => {
  // os.tmpdir() follows TMPDIR: every spool startRelay makes lands here, where the test can count them
  previous = process.env.TMPDIR;
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ims-test-api-'));
  process.env.TMPDIR = tmp;
});
afterEach(() => {
  if (previous === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = previous;
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('startRelay', () => {
  it('item 6: refuses an unknown option key with the config file’s message', async () => {
    const options = { maxRecipent: 3 } as unknown as TestRelayOptions;
    await expect(startRelay(options)).rejects.toThrow(
      /^ims-relay: startRelay options: unknown setting maxRecipent \(known: smtp, spool, .*maxRecipients/,
    );
    expect(fs.readdirSync(tmp)).toEqual([]);
  });

  it('item 5: removes its temporary spool when an option is invalid', async () => {
    await expect(startRelay({ maxRecipients: 'lots' })).rejects.toThrow(/invalid setting maxRecipients/);
    expect(fs.readdirSync(tmp)).toEqual([]);
  });

  it('item 5: removes its temporary spool when the port is busy', async () => {
    const busy = net.createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const port = (busy.address() as net.AddressInfo).port;
    try {
      await expect(startRelay({ smtp: `127.0.0.1:${port}` })).rejects.toThrow(/EADDRINUSE/);
      await expect(startRelay({ http: `127.0.0.1:${port}` })).rejects.toThrow(/admin API/);
    } finally {
      busy.close();
    }
    expect(fs.readdirSync(tmp)).toEqual([]);
  });

  it('removes its own spool on stop', async () => {
    const relay = await startRelay({ maxRecipients: 2 });
    expect(path.dirname(relay.spoolDir)).toBe(tmp);
    await relay.stop();
    expect(fs.readdirSync(tmp)).toEqual([]);
  });
});
