/**
 * The wiring module: builds the relay from a resolved configuration — spool (locked, recovered),
 * event log, SMTP listener, pickup folder, delivery — and takes it down again. It neither reads
 * the environment nor exits the process; the CLI does that.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { RelayConfig } from './config/relay-config.js';
import { formatHostPort, type HostPort } from './config/host-port.js';
import { DeliveryAgent, type Target } from './delivery/delivery-agent.js';
import { DeliveryQueue } from './delivery/delivery-queue.js';
import type { FailureRule } from './delivery/failure-rules.js';
import { StoreTarget } from './delivery/local-target.js';
import { MaildirStore } from './delivery/maildir-store.js';
import { importOldMaildirs } from './store/maildir-import.js';
import { MessageStore } from './store/message-store.js';
import { OutageTracker } from './delivery/outage-tracker.js';
import { UpstreamClient } from './delivery/upstream-client.js';
import { EventLog, type EventLogOptions } from './events/event-log.js';
import { RelayPolicy } from './server/relay-policy.js';
import { SmtpListener, type ListenerSecurity } from './server/smtp-listener.js';
import { AuthThrottle } from './server/auth-throttle.js';
import { ConnectionLimits } from './server/connection-limits.js';
import { loadUsers, PasswordVerifier } from './server/user-store.js';
import { SessionTranscripts } from './server/session-transcripts.js';
import { SmtpStageRules, type SmtpStageRule } from './server/smtp-stage-rules.js';
import { messageTags } from './store/message-tags.js';
import { PickupFolder } from './spool/pickup-folder.js';
import { IMS_HEADER_WARNING_BYTES } from './message/message-intake.js';
import { Spool } from './spool/spool.js';
import type { AdminContext } from './admin/admin-server.js';
import { listenAdmin, type AdminListener } from './admin/lazy-admin-listener.js';
import { QueueService } from './queue/queue-service.js';
import { allowedHostNames } from './admin/request-guard.js';
import { RelayMetrics } from './admin/relay-metrics.js';
import { acquireSpoolLock } from './spool/spool-lock.js';
import { removeRuntimeInfo, writeRuntimeInfo } from './spool/runtime-info.js';

export interface RunningRelay {
  config: RelayConfig;
  /** The address SMTP really listens on (the port is resolved when 0 was asked for). */
  smtp: HostPort;
  /** The implicit-TLS listener's address, when there is one. */
  smtps: HostPort | undefined;
  /** The address the admin API really listens on; undefined when it is off. */
  http: HostPort | undefined;
  spool: Spool;
  events: EventLog;
  /** The delivery worker pool; undefined in hold mode. */
  delivery: DeliveryQueue | undefined;
  /** The message store (captured mail); open in every mode, filled in capture mode. */
  store: MessageStore;
  /** Where the optional Maildirs are (--maildir); undefined when off. */
  mailboxes: string | undefined;
  /** The failure rules in force; replace them at run time with `setFailureRules`. */
  failureRules(): readonly FailureRule[];
  setFailureRules(rules: FailureRule[]): void;
  /** The last SMTP sessions' transcripts (`sessionTranscripts` of them). */
  transcripts: SessionTranscripts;
  /** The SMTP-stage rules in force; replace them at run time with `setSmtpRules`. */
  smtpRules(): readonly SmtpStageRule[];
  setSmtpRules(rules: SmtpStageRule[]): void;
  /** Scans pickup/ now (it is also scanned every `pickupInterval`). */
  scanPickup(): Promise<void>;
  /** Stops accepting, lets transactions and deliveries in flight finish (bounded), closes the spool. Idempotent. */
  stop(): Promise<void>;
}

/** Reads the TLS files and the users file, and builds the relay policy. */
function loadSecurity(
  config: RelayConfig,
): { ok: true; value: ListenerSecurity } | { ok: false; message: string } {
  let tls: ListenerSecurity['tls'];
  if (config.tlsCert && config.tlsKey) {
    try {
      tls = { cert: fs.readFileSync(config.tlsCert), key: fs.readFileSync(config.tlsKey) };
    } catch (err) {
      return { ok: false, message: `cannot read the TLS certificate or key: ${(err as Error).message}` };
    }
  }
  let users: Map<string, string> | undefined;
  if (config.users) {
    const loaded = loadUsers(config.users);
    if (!loaded.ok) return loaded;
    users = loaded.users;
  }
  return {
    ok: true,
    value: {
      ...(tls ? { tls } : {}),
      ...(users ? { users } : {}),
      ...(users
        ? {
            auth: new AuthThrottle(new PasswordVerifier(users), {
              failureDelayMs: config.authFailureDelay,
              maxFailures: config.authMaxFailures,
              maxFailuresPerAddress: config.authMaxFailuresPerIp,
              windowMs: config.authFailureWindow,
            }),
          }
        : {}),
      allowInsecureAuth: config.allowInsecureAuth,
      policy: new RelayPolicy({
        mode: config.mode,
        localDomains: config.localDomains,
        relayNetworks: config.relayNetworks,
        routedAddresses: config.routedAddresses,
      }),
    },
  };
}

export type StartResult = { ok: true; relay: RunningRelay } | { ok: false; message: string };

export async function runRelay(
  config: RelayConfig,
  logging: Pick<EventLogOptions, 'destination' | 'stderr'> = {},
  /** Test-only hooks, set by the CLI from the environment of a test run. */
  testHooks: { crashOn?: string } = {},
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
  const pickup = new PickupFolder(spool, {
    maxHeaderBytes: config.maxHeaderBytes,
    maxMessageSize: config.maxMessageSize,
  });
  const recovery = await spool.recover();
  const claims = await pickup.recoverClaims();
  if (
    recovery.removed.length +
      recovery.journalsRepaired.length +
      claims.returned.length +
      claims.completed.length >
    0
  ) {
    events.emit('spoolRecovered', {
      detail: `${recovery.removed.length} incomplete file(s) removed from tmp/.`,
      data: { removed: recovery.removed, journalsRepaired: recovery.journalsRepaired, pickupClaims: claims },
    });
  }

  let rules = config.fail;
  const mailboxes = config.maildir;
  let store: MessageStore;
  try {
    store = await MessageStore.open(path.join(config.spool, 'store'), {
      events,
      retention: { messages: config.retainMessages, ageMs: config.retainAge, bytes: config.retainBytes },
      tagsOf: (headers, recipients) =>
        messageTags(headers, recipients, { plusAddress: config.tagPlusAddress }),
    });
    // Maildirs of an earlier version (capture mode wrote <spool>/mailboxes/): imported once
    await importOldMaildirs(path.join(config.spool, 'mailboxes'), store, events).catch((err: Error) =>
      events.emit('unexpectedError', { data: { where: 'maildir import', error: err.message } }),
    );
  } catch (err) {
    await spool.close();
    await events.close();
    lock.release();
    return { ok: false, message: `cannot open the message store: ${(err as Error).message}` };
  }
  let upstream: UpstreamClient | undefined;
  let maildir: MaildirStore | undefined;
  let target: Target;
  if (config.mode === 'relay' && config.upstream) {
    upstream = new UpstreamClient({
      url: config.upstream,
      maxRecipients: config.upstreamMaxRecipients,
      tlsVerify: config.upstreamTlsVerify,
      hostname: config.hostname,
      maxConnections: Math.min(config.deliveryConcurrency, 8),
      timeoutMs: config.upstreamTimeout,
    });
    const host = upstream.address;
    const outage = new OutageTracker(
      () =>
        events.emit('nextHopUnreachable', {
          detail: `Upstream ${host} cannot be reached.`,
          data: { upstream: host },
        }),
      () => events.emit('nextHopReachable', { data: { upstream: host } }),
    );
    target = { kind: 'upstream', client: upstream, outage };
  } else {
    if (mailboxes) maildir = await MaildirStore.open(mailboxes, config.hostname);
    target = { kind: 'local', target: new StoreTarget(store, maildir, config.hostname) };
  }

  // the queue is created below; the agent reaches it through this function
  const queueRef: { current?: DeliveryQueue } = {};
  const agent = new DeliveryAgent(
    spool,
    events,
    {
      hostname: config.hostname,
      retry: { initial: config.retryInitial, max: config.retryMax, lifetime: config.lifetime },
      maxProcessingFailures: config.maxProcessingFailures,
      archive: config.archive,
      ndr: {
        maxRecipients: config.ndrMaxRecipients,
        overflow: config.ndrOverflow,
        maxOriginalBytes: config.ndrMaxOriginalBytes,
      },
      failureRules: () => rules,
      ...(testHooks.crashOn ? { crashOn: testHooks.crashOn } : {}),
    },
    target,
    (reportId) => queueRef.current?.enqueue('out', reportId),
  );
  const delivery =
    config.mode === 'hold' ? undefined : new DeliveryQueue(spool, agent, events, config.deliveryConcurrency);
  queueRef.current = delivery;

  const security = loadSecurity(config);
  const abort = async (message: string): Promise<StartResult> => {
    await delivery?.stop(0);
    upstream?.close();
    await store.close();
    await spool.close();
    await events.close();
    lock.release();
    return { ok: false, message };
  };
  if (!security.ok) return abort(security.message);
  const onCommitted = (queueId: string) => delivery?.enqueue('in', queueId);
  // every applied rule is an event (a hook for the session transcript, too: subject.sessionId)
  const stageRules = new SmtpStageRules(config.smtpRule, (decision, subject) =>
    events.emit('smtpRuleApplied', {
      detail: `${decision.rule.source} (client ${subject.clientAddress}).`,
      data: {
        rule: decision.rule.source,
        stage: decision.rule.stage,
        action: decision.disconnect
          ? 'disconnect'
          : decision.reply
            ? `${decision.reply.code} ${decision.reply.text}`
            : 'proceed',
        delayMs: decision.delayMs,
        client: subject.clientAddress,
        ...(subject.sessionId ? { session: subject.sessionId } : {}),
        ...(subject.sender !== undefined ? { sender: subject.sender } : {}),
        ...(subject.recipient !== undefined ? { recipient: subject.recipient } : {}),
      },
    }),
  );
  const transcripts = new SessionTranscripts(config.sessionTranscripts);
  // one set of bounds for both listeners (SMTP and SMTPS)
  const limits = new ConnectionLimits(config, (limit, client, value) =>
    events.emit('clientLimited', { data: { limit, client, value } }),
  );
  const listener = new SmtpListener(
    config,
    spool,
    events,
    onCommitted,
    security.value,
    limits,
    transcripts,
    stageRules,
  );
  const listeners = [listener];
  let smtp: HostPort;
  let smtps: HostPort | undefined;
  try {
    smtp = await listener.listen();
    if (config.smtps) {
      const implicit = new SmtpListener(
        { ...config, smtp: config.smtps },
        spool,
        events,
        onCommitted,
        {
          ...security.value,
          implicitTls: true,
        },
        limits,
        transcripts,
        stageRules,
      );
      listeners.push(implicit);
      smtps = await implicit.listen();
    }
  } catch (err) {
    await Promise.all(listeners.map((l) => l.close(0)));
    return abort((err as Error).message);
  }

  // the backlog is listed now and its journals read behind SMTP, which is served already
  // after an unclean stop, nothing is delivered until the scan has found every message that was
  // in flight: those go first, one at a time (poison-isolation.ts)
  const backlog = await delivery?.start({ holdUntilScanned: lock.uncleanPid !== undefined });
  if (lock.uncleanPid !== undefined) {
    const previousPid = lock.uncleanPid;
    const report = (suspects: number) =>
      events.emit('uncleanStop', {
        detail: `PID ${previousPid} left the spool locked; ${suspects} message(s) in flight are retried one at a time.`,
        data: { previousPid, suspects },
      });
    if (backlog) void backlog.scanned.then(() => report(delivery?.suspects ?? 0));
    else report(0);
  }

  // the pickup folder: one scan at a time, every pickupInterval
  let scanning: Promise<void> | undefined;
  const scanPickup = () =>
    (scanning ??= (async () => {
      try {
        await pickup.recoverClaims();
        for (const name of await pickup.waiting()) {
          // one file's trouble (gone meanwhile, locked, spool full) never stops the scan
          const result = await pickup.ingest(name).catch((err: Error) => {
            events.emit('unexpectedError', { data: { where: 'pickup', file: name, error: err.message } });
            return undefined;
          });
          if (!result) continue;
          if (result.ok) {
            events.emit('pickupAccepted', {
              queueId: result.queueId,
              data: { file: name, recipients: result.recipients, size: result.size },
            });
            if (result.headerBytes > IMS_HEADER_WARNING_BYTES)
              events.emit('largeHeaderBlock', {
                queueId: result.queueId,
                data: { headerBytes: result.headerBytes, source: 'pickup', file: name },
              });
            delivery?.enqueue('in', result.queueId);
          } else {
            events.emit('messageQuarantined', {
              detail: `Pickup file ${name}: ${result.reason}.`,
              data: { file: name, reason: result.reason, movedTo: result.movedTo },
            });
          }
        }
      } catch (err) {
        events.emit('unexpectedError', { data: { where: 'pickup', error: (err as Error).message } });
      } finally {
        scanning = undefined;
      }
    })());
  const pickupTimer = setInterval(() => void scanPickup(), config.pickupInterval);
  pickupTimer.unref();
  void scanPickup();

  // the admin API
  let admin: AdminListener | undefined;
  let http: HostPort | undefined;
  if (config.http) {
    const metrics = new RelayMetrics(spool, events, delivery);
    const queueService = new QueueService(spool, delivery);
    const context: AdminContext = {
      queue: queueService,
      events,
      eventsFile: config.events,
      metrics,
      store,
      failureRules: () => rules,
      setFailureRules: (next) => {
        rules = next;
      },
      smtpRules: stageRules,
      notReady: async () => {
        const free = await spool.freeBytes().catch(() => Infinity);
        return free < config.minFreeDisk
          ? `free space on the spool file system is ${free} bytes, below ${config.minFreeDisk}`
          : undefined;
      },
      token: config.adminToken,
      allowedHosts: allowedHostNames(config.adminHosts),
      transcripts,
      config,
    };
    // fastify is loaded with the first request
    const load = async () => (await import('./admin/admin-server.js')).buildAdminServer(context);
    try {
      admin = await listenAdmin(config.http, load);
      http = admin.address;
    } catch (err) {
      clearInterval(pickupTimer);
      await Promise.all(listeners.map((l) => l.close(0)));
      await delivery?.stop(0);
      upstream?.close();
      await store.close();
      await spool.close();
      await events.close();
      lock.release();
      return {
        ok: false,
        message: `cannot start the admin API on ${formatHostPort(config.http)}: ${(err as Error).message} (--http off disables it)`,
      };
    }
  }

  writeRuntimeInfo(config.spool, {
    pid: process.pid,
    smtp: formatHostPort(smtp),
    http: http ? formatHostPort(http) : null,
    startedAt: new Date().toISOString(),
  });
  events.emit('serviceStarted', {
    detail: `SMTP on ${formatHostPort(smtp)}, spool ${config.spool}, ${config.mode} mode${http ? `, admin API on http://${formatHostPort(http)}` : ''}.`,
    data: {
      smtp: formatHostPort(smtp),
      spool: config.spool,
      profile: config.profile,
      maxRecipients: config.maxRecipients,
      mode: config.mode,
      ...(upstream ? { upstream: upstream.address } : {}),
      ...(backlog ? { backlog: backlog.listed } : {}),
    },
  });

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      clearInterval(pickupTimer);
      await admin?.close();
      await Promise.all(listeners.map((l) => l.close(config.shutdownTimeoutMs)));
      await scanning;
      await delivery?.stop(config.shutdownTimeoutMs);
      upstream?.close();
      await maildir?.close();
      await store.close();
      await spool.close();
      removeRuntimeInfo(config.spool);
      events.emit('serviceStopped');
      await events.close();
      lock.release();
    })());

  return {
    ok: true,
    relay: {
      config,
      smtp,
      smtps,
      http,
      spool,
      events,
      delivery,
      store,
      mailboxes,
      failureRules: () => rules,
      setFailureRules: (next) => {
        rules = next;
      },
      transcripts,
      smtpRules: () => stageRules.list(),
      setSmtpRules: (next) => stageRules.set(next),
      scanPickup,
      stop,
    },
  };
}
