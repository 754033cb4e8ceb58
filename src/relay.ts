/**
 * The wiring module: builds the relay from a resolved configuration as a list of parts — spool
 * (locked), event log, recovery, message store, delivery target and queue, SMTP listeners, the
 * backlog, the pickup timer, the admin API, the runtime info — each started in order and each
 * knowing how to stop (relay-parts.ts). A part that cannot start stops the ones before it in
 * reverse order; stop() is the same path. It neither reads the environment nor exits the process;
 * the CLI does that.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { RelayConfig } from './config/relay-config.js';
import { formatHostPort, type HostPort } from './config/host-port.js';
import { DeliveryAgent } from './delivery/delivery-agent.js';
import { DeliveryQueue } from './delivery/delivery-queue.js';
import type { FailureRule } from './config/failure-rules.js';
import { DirectCapture } from './delivery/direct-capture.js';
import { loadParser } from './message/parse-mail.js';
import { StoreTarget } from './delivery/local-target.js';
import type { Target } from './delivery/target.js';
import { UpstreamTarget } from './delivery/upstream-target.js';
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
import type { SmtpStageRule } from './config/smtp-stage-rule.js';
import { SmtpStageRules } from './server/smtp-stage-rules.js';
import { messageTags } from './store/message-tags.js';
import { PickupFolder } from './spool/pickup-folder.js';
import { IMS_HEADER_WARNING_BYTES } from './message/message-intake.js';
import { Spool } from './spool/spool.js';
import type { AdminContext } from './admin/admin-server.js';
import { listenAdmin, type AdminListener } from './admin/lazy-admin-listener.js';
import { QueueService } from './queue/queue-service.js';
import { allowedHostNames } from './admin/request-guard.js';
import { RelayMetrics } from './admin/relay-metrics.js';
import { acquireSpoolLock, type LockResult } from './spool/spool-lock.js';
import { removeRuntimeInfo, writeRuntimeInfo } from './spool/runtime-info.js';
import { startParts, type RelayPart } from './relay-parts.js';

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
      acceptAnyAuth: config.acceptAnyAuth,
      tagAuthUser: config.mode === 'capture',
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
  const relay = new Relay(config, logging, testHooks);
  const started = await startParts(relay.parts());
  if (!started.ok) return started;
  return { ok: true, relay: relay.running(() => started.stop(config.shutdownTimeoutMs)) };
}

/** The relay's parts and what they make, for the parts after them and for the running relay. */
class Relay {
  spool!: Spool;
  lock!: Extract<LockResult, { ok: true }>;
  events!: EventLog;
  pickup!: PickupFolder;
  store!: MessageStore;
  upstream: UpstreamClient | undefined;
  maildir: MaildirStore | undefined;
  target!: Target;
  delivery: DeliveryQueue | undefined;
  listeners: SmtpListener[] = [];
  smtp!: HostPort;
  smtps: HostPort | undefined;
  backlog: { listed: number; scanned: Promise<number> } | undefined;
  pickupTimer: NodeJS.Timeout | undefined;
  scanning: Promise<void> | undefined;
  admin: AdminListener | undefined;
  http: HostPort | undefined;
  /** serviceStarted was emitted: serviceStopped is owed. */
  announced = false;
  rules: FailureRule[];
  readonly stageRules: SmtpStageRules;
  readonly transcripts: SessionTranscripts;
  /** One set of bounds for both listeners (SMTP and SMTPS). */
  readonly limits: ConnectionLimits;

  constructor(
    private readonly config: RelayConfig,
    private readonly logging: Pick<EventLogOptions, 'destination' | 'stderr'>,
    private readonly testHooks: { crashOn?: string },
  ) {
    this.rules = config.fail;
    // every applied rule is an event (a hook for the session transcript, too: subject.sessionId)
    this.stageRules = new SmtpStageRules(config.smtpRule, (decision, subject) =>
      this.events.emit('smtpRuleApplied', {
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
    this.transcripts = new SessionTranscripts(config.sessionTranscripts);
    this.limits = new ConnectionLimits(config, (limit, client, value) =>
      this.events.emit('clientLimited', { data: { limit, client, value } }),
    );
  }

  /** Started in this order; stopped in reverse, by a failed start as by stop(). */
  parts(): RelayPart[] {
    return [
      { name: 'spool', start: () => this.openSpool(), stop: () => this.closeSpool() },
      { name: 'event log', start: () => this.openEventLog(), stop: () => this.closeEventLog() },
      { name: 'spool recovery', start: () => this.recover() },
      { name: 'message store', start: () => this.openStore(), stop: () => this.store.close() },
      { name: 'delivery target', start: () => this.openTarget(), stop: () => this.closeTarget() },
      {
        name: 'delivery queue',
        start: () => this.createDelivery(),
        stop: (graceMs) => this.delivery?.stop(graceMs),
      },
      // a pickup scan in progress is waited for once SMTP has closed, before delivery stops
      { name: 'pickup scan', stop: () => this.scanning },
      { name: 'SMTP listeners', start: () => this.listen(), stop: (graceMs) => this.closeListeners(graceMs) },
      { name: 'delivery backlog', start: () => this.startBacklog() },
      {
        name: 'pickup timer',
        start: () => this.startPickupTimer(),
        stop: () => clearInterval(this.pickupTimer),
      },
      { name: 'admin API', start: () => this.listenAdmin(), stop: () => this.admin?.close() },
      {
        name: 'runtime info',
        start: () => this.announce(),
        stop: () => removeRuntimeInfo(this.config.spool),
      },
    ];
  }

  private openSpool(): string | undefined {
    const config = this.config;
    try {
      this.spool = Spool.open(config.spool);
    } catch (err) {
      return `cannot create the spool ${config.spool}: ${(err as Error).message}`;
    }
    const lock = acquireSpoolLock(config.spool);
    if (!lock.ok) return lock.message;
    this.lock = lock;
    return undefined;
  }

  private async closeSpool(): Promise<void> {
    await this.spool.close();
    this.lock.release();
  }

  private openEventLog(): void {
    this.events = new EventLog({ file: this.config.events, logLevel: this.config.logLevel, ...this.logging });
  }

  private async closeEventLog(): Promise<void> {
    if (this.announced) this.events.emit('serviceStopped');
    await this.events.close();
  }

  private async recover(): Promise<void> {
    const { config, spool, events } = this;
    this.pickup = new PickupFolder(spool, {
      maxHeaderBytes: config.maxHeaderBytes,
      maxMessageSize: config.maxMessageSize,
    });
    const recovery = await spool.recover();
    const claims = await this.pickup.recoverClaims();
    if (
      recovery.removed.length +
        recovery.journalsRepaired.length +
        claims.returned.length +
        claims.completed.length >
      0
    ) {
      events.emit('spoolRecovered', {
        detail: `${recovery.removed.length} incomplete file(s) removed from tmp/.`,
        data: {
          removed: recovery.removed,
          journalsRepaired: recovery.journalsRepaired,
          pickupClaims: claims,
        },
      });
    }
  }

  private async openStore(): Promise<string | undefined> {
    const { config, events } = this;
    try {
      this.store = await MessageStore.open(path.join(config.spool, 'store'), {
        events,
        retention: { messages: config.retainMessages, ageMs: config.retainAge, bytes: config.retainBytes },
        tagsOf: (headers, recipients) =>
          messageTags(headers, recipients, { plusAddress: config.tagPlusAddress }),
      });
    } catch (err) {
      return `cannot open the message store: ${(err as Error).message}`;
    }
    // capture mode parses each message for the index before its 250 (delivery/direct-capture.ts):
    // the parser is loaded now, so the first message does not wait for it
    if (config.mode === 'capture') await loadParser();
    // Maildirs of an earlier version (capture mode wrote <spool>/mailboxes/): imported once
    await importOldMaildirs(path.join(config.spool, 'mailboxes'), this.store, events).catch((err: Error) =>
      events.emit('unexpectedError', { data: { where: 'maildir import', error: err.message } }),
    );
    return undefined;
  }

  private async openTarget(): Promise<void> {
    const { config, events } = this;
    if (config.mode === 'relay' && config.upstream) {
      const upstream = new UpstreamClient({
        url: config.upstream,
        maxRecipients: config.upstreamMaxRecipients,
        tlsVerify: config.upstreamTlsVerify,
        hostname: config.hostname,
        maxConnections: Math.min(config.deliveryConcurrency, 8),
        timeoutMs: config.upstreamTimeout,
      });
      this.upstream = upstream;
      const host = upstream.address;
      const outage = new OutageTracker(
        () =>
          events.emit('nextHopUnreachable', {
            detail: `Upstream ${host} cannot be reached.`,
            data: { upstream: host },
          }),
        () => events.emit('nextHopReachable', { data: { upstream: host } }),
      );
      this.target = new UpstreamTarget(upstream, outage);
    } else {
      if (config.maildir) this.maildir = await MaildirStore.open(config.maildir, config.hostname);
      this.target = new StoreTarget(this.store, this.maildir, config.hostname);
    }
  }

  /** The upstream's connections, or the Maildir side's fsyncs still owed (the store is a part of its own). */
  private async closeTarget(): Promise<void> {
    await this.target.close();
  }

  private createDelivery(): void {
    const config = this.config;
    const agent = new DeliveryAgent(
      this.spool,
      this.events,
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
        failureRules: () => this.rules,
        ...(this.testHooks.crashOn ? { crashOn: this.testHooks.crashOn } : {}),
      },
      this.target,
      (reportId) => this.delivery?.enqueue('out', reportId),
    );
    this.delivery =
      config.mode === 'hold'
        ? undefined
        : new DeliveryQueue(this.spool, agent, this.events, config.deliveryConcurrency);
  }

  private async listen(): Promise<string | undefined> {
    const { config, spool, events, limits, transcripts, stageRules } = this;
    const security = loadSecurity(config);
    if (!security.ok) return security.message;
    const onCommitted = (queueId: string) => this.delivery?.enqueue('in', queueId);
    const direct = this.directCapture();
    const listener = new SmtpListener(
      config,
      spool,
      events,
      onCommitted,
      security.value,
      limits,
      transcripts,
      stageRules,
      direct,
    );
    this.listeners = [listener];
    try {
      this.smtp = await listener.listen();
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
          direct,
        );
        this.listeners.push(implicit);
        this.smtps = await implicit.listen();
      }
    } catch (err) {
      await this.closeListeners(0);
      return (err as Error).message;
    }
    return undefined;
  }

  /**
   * Capture mode's direct path (delivery/direct-capture.ts), unless --direct-capture false: not with
   * --archive or --maildir, whose copies the delivery agent makes, nor with the test hook that
   * crashes the agent.
   */
  private directCapture(): DirectCapture | undefined {
    const { config } = this;
    if (config.mode !== 'capture' || !config.directCapture) return undefined;
    if (config.archive || config.maildir || this.testHooks.crashOn) return undefined;
    return new DirectCapture(this.store, this.events, { failureRules: () => this.rules });
  }

  private async closeListeners(graceMs: number): Promise<void> {
    await Promise.all(this.listeners.map((l) => l.close(graceMs)));
  }

  /**
   * The backlog is listed now and its journals read behind SMTP, which is served already. After an
   * unclean stop, nothing is delivered until the scan has found every message that was in flight:
   * those go first, one at a time (poison-isolation.ts).
   */
  private async startBacklog(): Promise<void> {
    const { lock, events, delivery } = this;
    const backlog = await delivery?.start({ holdUntilScanned: lock.uncleanPid !== undefined });
    this.backlog = backlog;
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
  }

  /** The pickup folder: one scan at a time, every pickupInterval. */
  private startPickupTimer(): void {
    this.pickupTimer = setInterval(() => void this.scanPickup(), this.config.pickupInterval);
    this.pickupTimer.unref();
    void this.scanPickup();
  }

  readonly scanPickup = (): Promise<void> =>
    (this.scanning ??= (async () => {
      const { pickup, events } = this;
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
            this.delivery?.enqueue('in', result.queueId);
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
        this.scanning = undefined;
      }
    })());

  private async listenAdmin(): Promise<string | undefined> {
    const { config, spool, events, delivery } = this;
    if (!config.http) return undefined;
    const metrics = new RelayMetrics(spool, events, delivery);
    const queueService = new QueueService(spool, delivery);
    const context: AdminContext = {
      queue: queueService,
      events,
      eventsFile: config.events,
      metrics,
      store: this.store,
      failureRules: () => this.rules,
      setFailureRules: (next) => {
        this.rules = next;
      },
      smtpRules: this.stageRules,
      notReady: async () => {
        const free = await spool.freeBytes().catch(() => Infinity);
        return free < config.minFreeDisk
          ? `free space on the spool file system is ${free} bytes, below ${config.minFreeDisk}`
          : undefined;
      },
      token: config.adminToken,
      allowedHosts: allowedHostNames(config.adminHosts),
      transcripts: this.transcripts,
      config,
    };
    // fastify is loaded with the first request
    const load = async () => (await import('./admin/admin-server.js')).buildAdminServer(context);
    try {
      this.admin = await listenAdmin(config.http, load);
      this.http = this.admin.address;
    } catch (err) {
      return `cannot start the admin API on ${formatHostPort(config.http)}: ${(err as Error).message} (--http off disables it)`;
    }
    return undefined;
  }

  /** Where the relay can be reached (for the CLI tools), and the event that opens its run. */
  private announce(): void {
    const { config, smtp, http } = this;
    writeRuntimeInfo(config.spool, {
      pid: process.pid,
      smtp: formatHostPort(smtp),
      http: http ? formatHostPort(http) : null,
      startedAt: new Date().toISOString(),
    });
    this.events.emit('serviceStarted', {
      detail: `SMTP on ${formatHostPort(smtp)}, spool ${config.spool}, ${config.mode} mode${http ? `, admin API on http://${formatHostPort(http)}` : ''}.`,
      data: {
        smtp: formatHostPort(smtp),
        spool: config.spool,
        profile: config.profile,
        maxRecipients: config.maxRecipients,
        mode: config.mode,
        ...(this.upstream ? { upstream: this.upstream.address } : {}),
        ...(this.backlog ? { backlog: this.backlog.listed } : {}),
      },
    });
    this.announced = true;
  }

  /** What the caller gets once every part has started. */
  running(stop: () => Promise<void>): RunningRelay {
    const stageRules = this.stageRules;
    return {
      config: this.config,
      smtp: this.smtp,
      smtps: this.smtps,
      http: this.http,
      spool: this.spool,
      events: this.events,
      delivery: this.delivery,
      store: this.store,
      mailboxes: this.config.maildir,
      failureRules: () => this.rules,
      setFailureRules: (next) => {
        this.rules = next;
      },
      transcripts: this.transcripts,
      smtpRules: () => stageRules.list(),
      setSmtpRules: (next) => stageRules.set(next),
      scanPickup: this.scanPickup,
      stop,
    };
  }
}
