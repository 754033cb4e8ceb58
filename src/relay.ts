/**
 * The wiring module: builds the relay from a resolved configuration — spool (locked, recovered),
 * event log, SMTP listener — and takes it down again. It neither reads the environment nor exits
 * the process; the CLI does that.
 */
import type { RelayConfig } from './config/relay-config.js';
import { formatHostPort, type HostPort } from './config/host-port.js';
import { EventLog, type EventLogOptions } from './events/event-log.js';
import { SmtpListener } from './server/smtp-listener.js';
import { Spool } from './spool/spool.js';
import { acquireSpoolLock } from './spool/spool-lock.js';

export interface RunningRelay {
  config: RelayConfig;
  /** The address SMTP really listens on (the port is resolved when 0 was asked for). */
  smtp: HostPort;
  spool: Spool;
  events: EventLog;
  /** Stops accepting, lets transactions in flight finish (bounded), closes the spool. Idempotent. */
  stop(): Promise<void>;
}

export type StartResult = { ok: true; relay: RunningRelay } | { ok: false; message: string };

export async function startRelay(
  config: RelayConfig,
  logging: Pick<EventLogOptions, 'destination' | 'stderr'> = {},
): Promise<StartResult> {
  let spool: Spool;
  try {
    spool = Spool.open(config.spool);
  } catch (err) {
    return { ok: false, message: `cannot create the spool ${config.spool}: ${(err as Error).message}` };
  }
  const lock = acquireSpoolLock(config.spool);
  if (!lock.ok) return lock;

  const events = new EventLog({ file: config.events, logLevel: config.logLevel, ...logging });
  const recovery = await spool.recover();
  if (recovery.removed.length > 0) {
    events.emit('spoolRecovered', {
      detail: `${recovery.removed.length} incomplete file(s) removed from tmp/.`,
      data: { removed: recovery.removed },
    });
  }

  const listener = new SmtpListener(config, spool, events);
  let smtp: HostPort;
  try {
    smtp = await listener.listen();
  } catch (err) {
    await events.close();
    lock.release();
    return { ok: false, message: (err as Error).message };
  }
  events.emit('serviceStarted', {
    detail: `SMTP on ${formatHostPort(smtp)}, spool ${config.spool}.`,
    data: {
      smtp: formatHostPort(smtp),
      spool: config.spool,
      profile: config.profile,
      maxRecipients: config.maxRecipients,
    },
  });

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      await listener.close(config.shutdownTimeoutMs);
      await spool.close();
      events.emit('serviceStopped');
      await events.close();
      lock.release();
    })());

  return { ok: true, relay: { config, smtp, spool, events, stop } };
}
