import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { resolveConfig, type RawSettings } from '../../src/config/relay-config.js';
import { decodeEntry } from '../../src/spool/entry-format.js';
import type { RelayEvent } from '../../src/events/event-log.js';
import { runRelay, type RunningRelay } from '../../src/relay.js';

export interface TestRelay extends RunningRelay {
  port: number;
  /** Events recorded so far (parsed from the events file). */
  eventsSeen(): RelayEvent[];
  /** Decoded entries in in/, oldest first. */
  entries(): {
    queueId: string;
    envelope: import('../../src/message/envelope.js').Envelope;
    message: string;
  }[];
}

export function tempDir(prefix = 'ims-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

const quiet = () => new Writable({ write: (_c, _e, cb) => cb() });

/**
 * Starts a relay in this process on a free port with its own temporary spool, in hold mode unless
 * a mode is given (so that tests of the SMTP side find each message in in/).
 */
export async function startTestRelay(flags: RawSettings = {}): Promise<TestRelay> {
  const spool = (flags.spool as string | undefined) ?? tempDir();
  const resolved = resolveConfig({
    flags: {
      smtp: '127.0.0.1:0',
      spool,
      logLevel: 'silent',
      hostname: 'relay.test',
      mode: 'hold',
      http: '127.0.0.1:0',
      ...flags,
    },
  });
  if (!resolved.ok) throw new Error(resolved.message);
  const started = await runRelay(resolved.config, { destination: quiet(), stderr: quiet() });
  if (!started.ok) throw new Error(started.message);
  const relay = started.relay;
  const recorded: RelayEvent[] = [];
  relay.events.subscribe((e) => recorded.push(e));
  return {
    ...relay,
    port: relay.smtp.port,
    eventsSeen: () => recorded,
    entries: () =>
      fs
        .readdirSync(relay.spool.folder('in'))
        .sort()
        .map((name) => {
          const decoded = decodeEntry(fs.readFileSync(path.join(relay.spool.folder('in'), name)));
          if (!decoded.ok) throw new Error(`${name}: ${decoded.reason}`);
          return {
            queueId: decoded.envelope.queueId,
            envelope: decoded.envelope,
            message: decoded.message.toString('latin1'),
          };
        }),
  };
}
