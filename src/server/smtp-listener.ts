/**
 * The SMTP listener: smtp-server with ImsConnection, and the protocol decisions of ims-relay —
 * recipient cap, free space at MAIL, header/size/bare-LF checks while DATA streams, the Received:
 * header, and the 250 after the final dot only once the spool says the message is durable.
 */
import type net from 'node:net';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import type { EventLog } from '../events/event-log.js';
import type { Envelope, EnvelopeRecipient } from '../message/envelope.js';
import type { Spool } from '../spool/spool.js';
import { formatHostPort, type HostPort } from '../config/host-port.js';
import { FreeSpaceGuard } from './free-space-guard.js';
import {
  ImsConnection,
  assertLibraryHooks,
  type ConnectionObserver,
  type ConnectionSettings,
} from './ims-connection.js';
import { IMS_HEADER_WARNING_BYTES, MessageIntake, type IntakeRefusal } from '../message/message-intake.js';
import { ProxyGate, type GateOutcome } from './proxy-gate.js';
import { receivedHeader, type ReceivedInfo } from './received-header.js';
import type { RelayPolicy } from './relay-policy.js';
import { REPLIES, replyError, replyText, type Reply } from './replies.js';
import { AuthThrottle } from './auth-throttle.js';
import { ConnectionLimits, type ConnectionLimitSettings } from './connection-limits.js';
import { PasswordVerifier } from './user-store.js';
import type { SessionTranscripts } from './session-transcripts.js';
import { commandAvailability, smtpServerOptions } from './smtp-server-options.js';
import type { SmtpStage } from '../config/smtp-stage-rule.js';
import { SmtpStageRules, carryOut, type StageDecision, type StageSubject } from './smtp-stage-rules.js';
import { acceptableAuthName, authTagField } from './any-auth.js';
import { HeldBytes, IntakeWriter, type Committed, type DirectDestination } from './intake-writer.js';

/**
 * The most bytes of a message held in memory for a direct capture (capture mode): a larger message
 * goes through a spool entry, streamed to disk as it arrives. One message to 32,766 recipients
 * with a `To:` naming them all is about 0.9 MB.
 */
const DIRECT_CAPTURE_MAX_BYTES = 4 * 1024 * 1024;
/** The most bytes all messages of a listener hold for direct captures together (then they stream to the spool). */
const DIRECT_CAPTURE_BUDGET_BYTES = 64 * 1024 * 1024;

export interface ListenerSecurity {
  /** Certificate and key: STARTTLS is offered (or, with implicitTls, the whole connection is TLS). */
  tls?: { key: Buffer; cert: Buffer };
  implicitTls?: boolean;
  /** SMTP AUTH users (user -> scrypt hash); no AUTH without them. */
  users?: Map<string, string>;
  allowInsecureAuth: boolean;
  /** Relay mode's no-open-relay rule. */
  policy?: RelayPolicy;
  /** AUTH checking and throttling (auth-throttle.ts); made from `users` with defaults when absent. */
  auth?: AuthThrottle;
  /** `--accept-any-auth` (any-auth.ts): any name, any password, no relay permission; TLS not needed. */
  acceptAnyAuth?: boolean;
  /** Put `X-Ims-Relay-Tag: <AUTH name>` on mail from authenticated clients (capture mode). */
  tagAuthUser?: boolean;
}

export interface ListenerSettings extends ConnectionSettings, ConnectionLimitSettings {
  smtp: HostPort;
  maxRecipients: number;
  maxMessageSize: number;
  maxHeaderBytes: number;
  minFreeDisk: number;
  bareLf: 'normalize' | 'reject';
  socketTimeoutMs: number;
  reverseDns: boolean;
  /** Balancers whose connections start with a PROXY header (none: the gate is off). */
  proxyProtocolFrom?: readonly string[];
}

type ProxyCallback = Parameters<SMTPServer['_handleProxy']>[1];

/** The client's reverse DNS name; smtp-server puts `[address]` there when it did not look it up. */
const resolvedName = (session: SMTPServerSession): string | undefined =>
  session.clientHostname && !session.clientHostname.startsWith('[') ? session.clientHostname : undefined;

/** An address with anything but ASCII needs MAIL FROM … SMTPUTF8 (RFC 6531). */
// eslint-disable-next-line no-control-regex -- anything outside ASCII
const NON_ASCII = /[^\x00-\x7f]/;

/** MAIL FROM and RCPT TO parameters of the extensions the relay offers; others get 555. */
const MAIL_PARAMETERS = new Set(['SIZE', 'BODY', 'SMTPUTF8', 'RET', 'ENVID', 'AUTH']);
const RCPT_PARAMETERS = new Set(['NOTIFY', 'ORCPT']);
/** esmtp-keyword (RFC 5321 §4.1.2). */
const ESMTP_KEYWORD = /^[A-Za-z0-9][A-Za-z0-9-]*$/;

/** The first parameter that is not an extension's, or `'syntax'` when one is not even a keyword. */
function unknownParameter(
  address: { args?: Record<string, unknown> | false },
  known: Set<string>,
): string | undefined {
  if (!address.args) return undefined;
  for (const key of Object.keys(address.args)) {
    if (!ESMTP_KEYWORD.test(key)) return 'syntax';
    if (!known.has(key.toUpperCase())) return key;
  }
  return undefined;
}

const parameterReply = (unknown: string): Reply =>
  unknown === 'syntax' ? REPLIES.parameterSyntax : REPLIES.unsupportedParameter(unknown);

type DataCallback = (err?: Error | null, message?: string) => void;

class ImsSmtpServer extends SMTPServer {
  readonly connectionsBySession = new WeakMap<SMTPServerSession, ImsConnection>();
  connectionSettings!: ConnectionSettings;
  observer!: ConnectionObserver;
  proxyGate: ProxyGate | undefined;

  /**
   * The PROXY gate (proxy-gate.ts) runs here, before any greeting or implicit TLS handshake, after
   * smtp-server's own step (with useProxy off, it only names the session).
   */
  override _handleProxy(socket: net.Socket, callback: ProxyCallback): void {
    super._handleProxy(socket, (err, options) => {
      const gate = this.proxyGate;
      if (err || !options || !gate?.expects(socket.remoteAddress)) return callback(err, options);
      void gate.read(socket).then((outcome: GateOutcome) => {
        if (!outcome.ok) return callback(new Error(outcome.reason));
        const source = outcome.source;
        callback(null, {
          ...options,
          ...(source ? { remoteAddress: source.address, remotePort: source.port } : {}),
        });
      });
    });
  }

  transcripts: SessionTranscripts | undefined;

  beforeData: ImsConnection['beforeData'];

  override connect(socket: net.Socket, socketOptions?: ConstructorParameters<typeof ImsConnection>[2]): void {
    // smtp-server's connect(), with our connection class
    const connection = new ImsConnection(this, socket, socketOptions, this.connectionSettings, this.observer);
    this.connectionsBySession.set(connection.session, connection);
    connection.transcript = this.transcripts?.open(connection.id, {
      address: connection.remoteAddress,
      port: connection.remotePort,
    });
    connection.beforeData = this.beforeData;
    this.connections.add(connection);
    connection.on('error', (err: Error) => this._onError(err));
    connection.on('connect', (data) => this._onClientConnect(data));
    connection.init();
  }
}

export class SmtpListener {
  private readonly server: ImsSmtpServer;
  private readonly freeSpace: FreeSpaceGuard;
  private readonly inFlight = new Set<Promise<void>>();
  /** What messages being received for a direct capture hold in memory, all together. */
  readonly heldBytes = new HeldBytes(DIRECT_CAPTURE_BUDGET_BYTES);
  readonly limits: ConnectionLimits;

  constructor(
    private readonly settings: ListenerSettings,
    private readonly spool: Spool,
    private readonly events: EventLog,
    /** Told about every message committed to in/ (the wiring hands it to delivery). */
    private readonly onCommitted: (queueId: string) => void = () => undefined,
    private readonly security: ListenerSecurity = { allowInsecureAuth: false },
    /** Shared by the relay's listeners, so the bounds are relay-wide. */
    limits?: ConnectionLimits,
    /** Where session transcripts go (shared by the listeners); none when undefined. */
    transcripts?: SessionTranscripts,
    /** SMTP-stage rules (smtp-stage-rules.ts): chosen replies at chosen moments. */
    private readonly stageRules: SmtpStageRules = new SmtpStageRules(),
    /** Capture mode: where a message whose recipients are all simply captured goes at once. */
    private readonly direct?: DirectDestination,
  ) {
    assertLibraryHooks();
    this.limits =
      limits ??
      new ConnectionLimits(settings, (limit, client, value) =>
        events.emit('clientLimited', { data: { limit, client, value } }),
      );
    const auth =
      security.auth ??
      (security.users
        ? new AuthThrottle(new PasswordVerifier(security.users), {
            failureDelayMs: 1000,
            maxFailures: 3,
            maxFailuresPerAddress: 10,
            windowMs: 15 * 60_000,
          })
        : undefined);
    this.freeSpace = new FreeSpaceGuard(() => spool.freeBytes(), settings.minFreeDisk, {
      low: (free, threshold) =>
        events.emit('freeSpaceLow', {
          data: { freeBytes: free, thresholdBytes: threshold, spool: spool.dir },
        }),
      recovered: (free, threshold) =>
        events.emit('freeSpaceRecovered', {
          data: { freeBytes: free, thresholdBytes: threshold, spool: spool.dir },
        }),
    });
    const profile = settings.profile;
    const { policy } = security;
    const anyAuth = Boolean(security.acceptAnyAuth);
    const commands = commandAvailability(security);
    this.server = new ImsSmtpServer({
      ...smtpServerOptions(settings, security, commands),
      onConnect: (session, callback) => {
        if (!security.implicitTls) session.disabledCommands = commands.beforeTls;
        if (!this.limits.admit(session, session.remoteAddress))
          return callback(replyError(profile, REPLIES.connectionsPerIp(settings.hostname)));
        this.atStage('connect', session, {}, callback, () => callback());
      },
      onSecure: (_socket, session, callback) => {
        session.disabledCommands = commands.disabled;
        callback();
      },
      onAuth: (attempt, session, callback) => {
        if (anyAuth)
          return acceptableAuthName(attempt.username ?? '')
            ? callback(null, { user: attempt.username })
            : callback(replyError(profile, REPLIES.authFailed));
        if (!auth) return callback(replyError(profile, REPLIES.authFailed));
        const user = attempt.username ?? '';
        auth
          .attempt(
            session,
            session.remoteAddress,
            user,
            typeof attempt.password === 'string' ? attempt.password : '',
          )
          .then(
            (outcome) => {
              if (outcome.ok) return callback(null, { user: outcome.user });
              if (outcome.why === 'wrong') return callback(replyError(profile, REPLIES.authFailed));
              events.emit('authFailureLimit', {
                data: {
                  limit: outcome.why === 'connection-limit' ? 'connection' : 'address',
                  failures: outcome.failures,
                  client: session.remoteAddress,
                  user,
                },
              });
              const bye =
                outcome.why === 'connection-limit' ? REPLIES.authFailureLimit : REPLIES.authAddressLimit;
              callback(replyError(profile, bye(settings.hostname)));
            },
            () => callback(replyError(profile, REPLIES.authFailed)),
          );
      },
      onMailFrom: (address, session, callback) =>
        this.atStage('mail', session, { sender: address.address }, callback, () =>
          this.onMailFrom(address, session, callback),
        ),
      onRcptTo: (address, session, callback) => {
        if (NON_ASCII.test(address.address) && !session.envelope.smtpUtf8) {
          return callback(replyError(profile, REPLIES.needsSmtpUtf8));
        }
        if (address.args) {
          const unknown = unknownParameter(address, RCPT_PARAMETERS);
          if (unknown) return callback(replyError(profile, parameterReply(unknown)));
        }
        if (
          policy &&
          !policy.allows(address.address, {
            address: session.remoteAddress,
            // a name taken by --accept-any-auth proves nothing: no relay permission from it
            authenticated: Boolean(session.user) && !anyAuth,
          })
        ) {
          return callback(replyError(profile, REPLIES.relayDenied));
        }
        if (!this.limits.mayAddRecipient(session, session.envelope.rcptTo.length))
          return callback(replyError(profile, REPLIES.recipientsHeld));
        const connection = this.server.connectionsBySession.get(session);
        if (connection) connection.pendingRecipient = address.address;
        // runs up to 32,766 times a transaction: nothing is built for the rules unless one is in force
        if (!this.stageRules.active) return callback();
        const rcptNumber = session.envelope.rcptTo.length + 1;
        this.atStage('rcpt', session, { recipient: address.address, rcptNumber }, callback, () => callback());
      },
      onData: (stream, session, callback) => this.onData(stream, session, callback),
      onClose: (session) => {
        this.limits.release(session);
        const connection = this.server.connectionsBySession.get(session);
        connection?.endTransaction();
        connection?.transcript?.end();
      },
    });
    this.server.transcripts = transcripts;
    if (settings.proxyProtocolFrom?.length)
      this.server.proxyGate = new ProxyGate(settings.proxyProtocolFrom, settings.hostname);
    this.server.beforeData = (connection, proceed, done) =>
      carryOut(this.decide('data', connection.session, {}), {
        proceed,
        reply: (code, text) => {
          connection.send(code, text);
          done();
        },
        disconnect: () => connection.close(),
      });
    this.server.connectionSettings = {
      ...settings,
      authAfterTls: commands.authAfterTls,
    };
    this.server.observer = {
      capSummary: (connection, refused, accepted, queueId) =>
        events.emit('recipientCapReached', {
          ...(queueId ? { queueId } : {}),
          detail: `${refused} RCPT answered 452 after ${accepted} accepted.`,
          data: { refused, accepted, limit: settings.maxRecipients, client: connection.remoteAddress },
        }),
      overshoot: (connection, refused) =>
        events.emit('recipientOvershootClosed', {
          data: { refused, limit: settings.maxRecipientOvershoot, client: connection.remoteAddress },
        }),
    };
    this.server.on('error', (err: Error) =>
      events.logger.debug({ err: err.message }, 'SMTP connection error'),
    );
  }

  /** Starts listening; resolves with the address actually bound (port 0 picks one). */
  listen(): Promise<HostPort> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) =>
        reject(new Error(`cannot listen on ${formatHostPort(this.settings.smtp)}: ${err.message}`));
      this.server.server.once('error', onError);
      this.server.listen(this.settings.smtp.port, this.settings.smtp.host, () => {
        this.server.server.off('error', onError);
        const addr = this.server.server.address() as net.AddressInfo;
        resolve({ host: addr.address, port: addr.port });
      });
    });
  }

  /**
   * Stops accepting connections; transactions in flight may finish for up to `timeoutMs`, then the
   * remaining connections get 421. Resolves when every accepted message is committed or refused.
   */
  async close(timeoutMs: number): Promise<void> {
    this.server.options.closeTimeout = Math.max(1, timeoutMs);
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await Promise.allSettled([...this.inFlight]);
  }

  private onMailFrom(
    address: { address: string; args?: Record<string, unknown> | false },
    session: SMTPServerSession,
    callback: (err?: Error | null) => void,
  ): void {
    if (NON_ASCII.test(address.address) && !session.envelope.smtpUtf8) {
      return callback(replyError(this.settings.profile, REPLIES.needsSmtpUtf8));
    }
    const unknown = unknownParameter(address, MAIL_PARAMETERS);
    if (unknown) return callback(replyError(this.settings.profile, parameterReply(unknown)));
    const connection = this.server.connectionsBySession.get(session);
    connection?.endTransaction();
    this.limits.startTransaction(session, () => {
      if (!session.envelope.mailFrom) return; // RSET ended it
      const bye = REPLIES.transactionTimeout(this.settings.hostname);
      connection?.send(bye.code, replyText(this.settings.profile, bye), false);
    });
    this.freeSpace
      .hasRoom()
      .then((room) =>
        callback(room ? undefined : replyError(this.settings.profile, REPLIES.insufficientStorage)),
      );
  }

  /** What the SMTP-stage rules look at. */
  private subjectOf(session: SMTPServerSession, more: Partial<StageSubject>): StageSubject {
    return {
      clientAddress: session.remoteAddress,
      sessionId: session.id,
      ...(session.envelope.mailFrom ? { sender: session.envelope.mailFrom.address } : {}),
      ...more,
    };
  }

  /** The SMTP-stage rule for this moment, if one matches; the session's transcript notes it. */
  private decide(
    stage: SmtpStage,
    session: SMTPServerSession,
    more: Partial<StageSubject>,
  ): StageDecision | undefined {
    const decision = this.stageRules.decide(stage, this.subjectOf(session, more));
    if (decision) this.server.connectionsBySession.get(session)?.transcript?.rule(decision.rule.source);
    return decision;
  }

  /** Applies the SMTP-stage rule for this moment, if one matches; otherwise calls `proceed`. */
  private atStage(
    stage: SmtpStage,
    session: SMTPServerSession,
    more: Partial<StageSubject>,
    callback: (err?: Error | null) => void,
    proceed: () => void,
  ): void {
    carryOut(this.decide(stage, session, more), {
      proceed,
      reply: (code, text) => callback(Object.assign(new Error(text), { responseCode: code })),
      disconnect: () => this.server.connectionsBySession.get(session)?.close(),
    });
  }

  private onData(stream: SMTPServerDataStream, session: SMTPServerSession, original: DataCallback): void {
    const decision = this.decide('eod', session, {});
    if (decision && (decision.reply || decision.disconnect)) {
      // the rule answers the final dot: the message is read to its end and not stored
      stream.once('end', () => {
        this.server.connectionsBySession.get(session)?.endTransaction();
        carryOut(decision, {
          proceed: () => undefined,
          reply: (code, text) => original(Object.assign(new Error(text), { responseCode: code })),
          disconnect: () => this.server.connectionsBySession.get(session)?.close(),
        });
      });
      stream.resume();
      return;
    }
    const callback: DataCallback = decision
      ? (err, message) => setTimeout(() => original(err, message), decision.delayMs)
      : original;
    const work = this.receive(stream, session).then(
      (reply) => {
        this.limits.endTransaction(session);
        const connection = this.server.connectionsBySession.get(session);
        connection?.endTransaction(reply.queueId);
        if (reply.result.code < 400) connection?.transcript?.queued(reply.queueId);
        if (reply.result.code < 400) callback(null, replyText(this.settings.profile, reply.result));
        else callback(replyError(this.settings.profile, reply.result));
      },
      (err: Error) => {
        // not expected: receive() turns every failure into a reply; still, never leave a client hanging
        this.events.emit('unexpectedError', { data: { where: 'onData', error: err.message } });
        callback(replyError(this.settings.profile, REPLIES.localError));
      },
    );
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work));
  }

  /** Reads one message to its end and commits it, or refuses it; never rejects for a bad message. */
  private async receive(
    stream: SMTPServerDataStream,
    session: SMTPServerSession,
  ): Promise<{ result: Reply; queueId: string }> {
    const settings = this.settings;
    const queueId = this.spool.newQueueId();
    const envelope = this.envelopeOf(session, queueId);
    const direct = this.direct?.accepts(envelope) ? this.direct : undefined;
    const writer = new IntakeWriter(
      () => this.spool.createEntry(envelope),
      envelope,
      direct,
      DIRECT_CAPTURE_MAX_BYTES,
      this.heldBytes,
    );
    const intake = new MessageIntake(settings);
    let writeError: Error | undefined;
    writer.on('error', (err: Error) => {
      writeError ??= err;
      stream.resume();
    });
    writer.write(
      receivedHeader({
        helo: session.hostNameAppearsAs || 'unknown',
        clientAddress: session.remoteAddress,
        ...(resolvedName(session) ? { clientHostname: resolvedName(session) } : {}),
        hostname: settings.hostname,
        protocol: (session.transmissionType as ReceivedInfo['protocol']) || 'ESMTP',
        queueId,
        recipients: envelope.recipients.map((r) => r.address),
        date: new Date(envelope.arrivedAt),
      }),
    );
    const tagField = this.security.tagAuthUser && session.user ? authTagField(session.user) : undefined;
    if (tagField) writer.write(tagField);

    const ended = await new Promise<boolean>((resolve) => {
      stream.on('data', (chunk: Buffer) => {
        const bytes = intake.process(chunk);
        if (!bytes || writeError) return;
        if (!writer.write(bytes)) {
          stream.pause();
          writer.once('drain', () => stream.resume());
        }
      });
      stream.once('end', () => resolve(true));
      stream.once('error', () => resolve(false));
      stream.once('close', () => resolve(stream.readableEnded));
    });
    this.limits.dataEnded(session); // the transaction deadline does not cut a commit short

    const refused = intake.refusal ?? (stream.sizeExceeded ? 'size' : undefined);
    if (!ended || refused || writeError) {
      await writer.discard().catch(() => undefined);
      if (!ended) return { result: REPLIES.localError, queueId }; // the client went away; nobody hears this
      if (refused) return { result: this.refusal(refused, queueId, session, intake), queueId };
      return { result: this.writeFailed(writeError!, queueId), queueId };
    }
    let committed: Committed;
    try {
      committed = await writer.commit();
    } catch (err) {
      await writer.discard().catch(() => undefined);
      return { result: this.writeFailed(err as Error, queueId), queueId };
    }
    this.events.emit('messageQueued', {
      queueId,
      data: {
        sender: envelope.sender,
        recipients: envelope.recipients.length,
        size: writer.size,
        client: session.remoteAddress,
        ...(committed === 'captured' ? { captured: true } : {}),
      },
    });
    if (intake.headerBytes > IMS_HEADER_WARNING_BYTES)
      this.events.emit('largeHeaderBlock', {
        queueId,
        data: { headerBytes: intake.headerBytes, source: 'smtp', client: session.remoteAddress },
      });
    if (committed === 'captured') direct!.delivered(envelope);
    else this.onCommitted(queueId);
    return { result: REPLIES.queued(queueId), queueId };
  }

  private refusal(
    reason: IntakeRefusal,
    queueId: string,
    session: SMTPServerSession,
    intake: MessageIntake,
  ): Reply {
    const data = {
      client: session.remoteAddress,
      sender: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
    };
    switch (reason) {
      case 'header':
        this.events.emit('headerLimitRefused', {
          queueId,
          data: { ...data, limitBytes: this.settings.maxHeaderBytes, headerBytesSeen: intake.headerBytes },
        });
        return REPLIES.headerTooLarge(this.settings.maxHeaderBytes);
      case 'size':
        this.events.emit('sizeLimitRefused', {
          queueId,
          data: { ...data, limitBytes: this.settings.maxMessageSize, bytesSeen: intake.receivedBytes },
        });
        return REPLIES.messageTooLarge(this.settings.maxMessageSize);
      case 'bareLf':
        this.events.emit('bareLfRefused', { queueId, data });
        return REPLIES.bareLf;
    }
  }

  private writeFailed(err: Error, queueId: string): Reply {
    this.events.emit('spoolWriteFailed', {
      queueId,
      data: { error: err.message, code: (err as NodeJS.ErrnoException).code },
    });
    void this.freeSpace.refresh();
    return REPLIES.localError;
  }

  private envelopeOf(session: SMTPServerSession, queueId: string): Envelope {
    const env = session.envelope;
    const recipients = env.rcptTo.map((r): EnvelopeRecipient => {
      const rcpt: EnvelopeRecipient = { address: r.address };
      if (r.dsn?.notify) rcpt.notify = r.dsn.notify as EnvelopeRecipient['notify'];
      if (r.dsn?.orcpt) rcpt.orcpt = r.dsn.orcpt;
      return rcpt;
    });
    const dsn: Envelope['dsn'] = {};
    if (env.dsn?.ret) dsn.ret = env.dsn.ret as 'FULL' | 'HDRS';
    if (env.dsn?.envid) dsn.envid = env.dsn.envid;
    return {
      version: 1,
      queueId,
      arrivedAt: new Date().toISOString(),
      sender: env.mailFrom ? env.mailFrom.address : '',
      recipients,
      dsn,
      bodyType: env.bodyType === '8bitmime' ? '8bitmime' : '7bit',
      smtpUtf8: Boolean(env.smtpUtf8),
      source: 'smtp',
      client: {
        address: session.remoteAddress,
        port: session.remotePort,
        helo: session.hostNameAppearsAs || '',
        ...(resolvedName(session) ? { hostname: resolvedName(session) } : {}),
      },
    };
  }
}
