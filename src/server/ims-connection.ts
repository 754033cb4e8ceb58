/**
 * One SMTP connection, on smtp-server's own SMTPConnection, with these changes:
 *
 * 1. Every reply goes through `send`, which renders it for the profile (replies.ts): the IMS texts
 *    (`250 OK - Recipient <a>`, `452 Requested action not taken: Exceed Recipient Limit`) and, in
 *    the rfc profile, our own RFC 3463 codes — smtp-server is always told to add none itself.
 * 2. The greeting comes after `greetingDelayMs` (default 0) instead of smtp-server's fixed 100 ms,
 *    which held one-message-per-connection clients to ~40 messages/s.
 * 3. A client that half-closes (shutdown after its last command) still gets every reply, then the
 *    connection closes (`closeWhenAnswered`); smtp-server alone dropped them, the 250 included.
 *
 * Both rely on documented-by-types members of SMTPConnection (`send`, `init`, `connectionReady`,
 * `_setListeners`); `assertLibraryHooks` checks them at startup, and test/library-hooks.test.ts
 * checks the behaviour, so an smtp-server upgrade that changes them fails loudly instead of
 * silently bringing back 4.2.2 or the 100 ms wait.
 */
import type net from 'node:net';
import type { SMTPServer } from 'smtp-server';
import { SMTPConnection } from 'smtp-server/lib/smtp-connection.js';
import { quotedPath, withLocalPart } from './quoted-local-part.js';
import {
  REPLIES,
  enhancedCodeFor,
  replyText,
  withEnhancedCode,
  type Profile,
  type Reply,
} from './replies.js';
import type { TranscriptRecorder } from './session-transcripts.js';

/** Longest command line taken, without its line end (512 octets plus room for DSN parameters). */
export const MAX_COMMAND_LINE = 2048;
/** Control characters (TAB aside) have no place in a command line: NUL, a bare CR, ESC, DEL … */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_CHARACTER = /[\x00-\x08\x0a-\x1f\x7f]/;

/** RFC 5322 atext: what a dot-atom local part is made of. */
const ATEXT = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]";
/** A host-name label of letters, digits and single hyphens inside: no `xn--` (punycode) label. */
const LABEL = '[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*';
/**
 * `RCPT TO:<local@host>` with a dot-atom local part, an ASCII host name and no parameters: the
 * form nearly every one of a transaction's 32,766 RCPT takes. For exactly these, smtp-server's
 * parser returns `{ address: <the path's content>, args: false }` (test: ims-connection.test.ts
 * holds the two to the same answers); it gets there through about twenty string operations and
 * a punycode pass, a third of the time an RCPT costs.
 */
const PLAIN_RCPT = new RegExp(`^RCPT TO:<(${ATEXT}+(?:\\.${ATEXT}+)*@${LABEL}(?:\\.${LABEL})*)>$`, 'i');
/** RFC 5321 §4.5.3.1.3: a path is at most 256 octets, so local part, `@` and host at most 253. */
const MAX_PLAIN_ADDRESS = 253;

/** The address of a plain `RCPT TO:<local@host>` line (PLAIN_RCPT), or undefined for any other. */
export function plainRecipient(line: string): string | undefined {
  const plain = PLAIN_RCPT.exec(line);
  return plain && plain[1]!.length <= MAX_PLAIN_ADDRESS ? plain[1] : undefined;
}

export interface ConnectionSettings {
  profile: Profile;
  hostname: string;
  greetingDelayMs: number;
  maxClients: number;
  /** 421 after this many RCPTs refused by the cap in one transaction; 0 = never (the default). */
  maxRecipientOvershoot: number;
  /** AUTH is offered after STARTTLS: an AUTH before it gets 530 instead of "not recognized". */
  authAfterTls?: boolean;
}

/** What a connection tells its listener about. */
export interface ConnectionObserver {
  /** A transaction ended (or the connection closed) after `refused` RCPTs were refused by the cap. */
  capSummary(connection: ImsConnection, refused: number, accepted: number, queueId?: string): void;
  /** The client went past the overshoot limit and is being disconnected. */
  overshoot(connection: ImsConnection, refused: number): void;
}

export function assertLibraryHooks(): void {
  const proto = SMTPConnection.prototype as unknown as Record<string, unknown>;
  const missing = [
    'send',
    'init',
    'connectionReady',
    '_setListeners',
    '_onCommand',
    '_parseAddressCommand',
    'handler_RCPT',
    '_whenWritable',
    '_isSupported',
  ].filter((m) => typeof proto[m] !== 'function');
  if (missing.length > 0) {
    throw new Error(
      `smtp-server changed: SMTPConnection lacks ${missing.join(', ')}; src/server/ims-connection.ts must be adapted`,
    );
  }
}

export class ImsConnection extends SMTPConnection {
  /** The address of the RCPT being answered; set by the listener's onRcptTo. */
  pendingRecipient = '';
  /** Records this session's dialogue when transcripts are on (session-transcripts.ts). */
  transcript: TranscriptRecorder | undefined;
  /**
   * Set by the listener: looks at a DATA command that has recipients before smtp-server answers
   * it (SMTP-stage rules); calls `proceed` to go on as usual, or answers and calls `done`.
   */
  beforeData?: (connection: ImsConnection, proceed: () => void, done: () => void) => void;
  private corked = false;
  private inputEnded = false;
  private capEnvelope: unknown;
  private capRefused = 0;
  /** The plain RCPT being handled without the dispatch (`plainRcpt`): its line and its address. */
  private plainPath: { command: Buffer; address: string } | undefined;
  /** The disabled-commands list RCPT was last looked up in, and whether RCPT was enabled in it. */
  private rcptLookedUpIn: unknown = null;
  private rcptEnabled = false;

  constructor(
    server: SMTPServer,
    socket: net.Socket,
    options: ConstructorParameters<typeof SMTPConnection>[2],
    private readonly settings: ConnectionSettings,
    private readonly observer: ConnectionObserver,
  ) {
    super(server, socket, options);
  }

  override init(): void {
    // the server runs with allowHalfOpen: a client that half-closes after a complete pipelined
    // transaction still reads its replies (the 250 with the queue ID), then the connection closes
    this._socket.once('end', () => {
      this.inputEnded = true;
      // smtp-server writes a reply only while readyState is 'open'; half-closed it is 'writeOnly'
      const socket = this._socket;
      Object.defineProperty(socket, 'readyState', {
        configurable: true,
        get: () => (socket.writable && !socket.destroyed ? 'open' : 'closed'),
      });
      if (this._parser) this._parser.once('finish', () => this.closeWhenAnswered());
      this.closeWhenAnswered();
    });
    this._setListeners(() => {
      if (this._server.connections.size > this.settings.maxClients) {
        this.send(421, `${this.name} Too many connected clients, try again in a moment`, false);
        return;
      }
      if (this.settings.greetingDelayMs > 0)
        setTimeout(() => this.connectionReady(), this.settings.greetingDelayMs).unref();
      else this.connectionReady();
    });
  }

  /**
   * Refuses a command line longer than MAX_COMMAND_LINE with 500 and keeps the connection (RFC 5321
   * §4.5.3.1.4 allows 512 octets, extensions such as DSN more; smtp-server itself only stops at
   * 16 KB), and one with control characters with 501 (a bare CR, NUL: an injection attempt or a
   * broken client). Lines inside DATA do not come here.
   */
  override _onCommand(command: Buffer, callback?: () => void): void {
    const line = command.toString('latin1');
    this.transcript?.command(command, line);
    const refusal =
      command.length > MAX_COMMAND_LINE
        ? REPLIES.lineTooLong
        : CONTROL_CHARACTER.test(line)
          ? REPLIES.controlCharacters
          : undefined;
    if (refusal) {
      this.send(refusal.code, replyText(this.settings.profile, refusal), false);
      if (callback) setImmediate(callback);
      return;
    }
    if (this.plainRcpt(line, command, callback)) return;
    super._onCommand(command, callback);
  }

  /**
   * A plain RCPT (PLAIN_RCPT) in the usual state of a transaction goes straight to smtp-server's
   * `handler_RCPT`, as its dispatch would send it: the dispatch's own steps (upper-casing the line
   * three times, an HTTP check, three `_isSupported` lookups over the disabled commands, the AUTH
   * checks) decide nothing for it in that state, and cost as much as the handler itself. The
   * usual state: greeted, no TLS upgrade and no AUTH exchange under way, not shutting down, a
   * HELO/EHLO seen, RCPT not disabled, AUTH optional (the listener always sets authOptional), no
   * LMTP. Anything else, a plain RCPT included, goes through the dispatch. The handler runs as the
   * dispatch runs it: `_handlerPending` while it works, the next line once the socket is writable,
   * 451 if it throws.
   */
  private plainRcpt(line: string, command: Buffer, callback?: () => void): boolean {
    const address = plainRecipient(line);
    if (address === undefined || !this.inUsualState()) return false;
    const next = callback ?? (() => false);
    let handled = false;
    const handlerCallback = () => {
      handled = true;
      this._handlerPending = false;
      this._whenWritable(next);
    };
    this._handlerPending = true;
    this.plainPath = { command, address };
    try {
      this.handler_RCPT(command, handlerCallback);
    } catch {
      if (!handled) {
        this.send(451, 'Error: internal server error');
        handlerCallback();
      }
    } finally {
      this.plainPath = undefined;
    }
    return true;
  }

  /** Whether smtp-server's dispatch would hand an RCPT line to its handler and do nothing else. */
  private inUsualState(): boolean {
    const server = this._server;
    return (
      this._ready &&
      !this._upgrading &&
      !this._nextHandler &&
      !server._closeTimeout &&
      Boolean(this.hostNameAppearsAs) &&
      Boolean(server.options.authOptional) &&
      !server.options.lmtp &&
      this.rcptIsEnabled()
    );
  }

  /**
   * smtp-server's `_isSupported('RCPT')`, looked up again only when the list of disabled commands
   * changes: the listener replaces the session's list (at connect and after STARTTLS), never edits it.
   */
  private rcptIsEnabled(): boolean {
    const list = this.session.disabledCommands ?? this._server.options.disabledCommands;
    if (list !== this.rcptLookedUpIn) {
      this.rcptLookedUpIn = list;
      this.rcptEnabled = this._isSupported('RCPT');
    }
    return this.rcptEnabled;
  }

  /**
   * After the client half-closed: closes once everything it sent is answered — its input parsed,
   * no handler (a DATA commit) pending — or at once when its input ended inside DATA.
   */
  private closeWhenAnswered(): void {
    setImmediate(() => {
      if (this._closing || this._closed) return;
      const parser = this._parser;
      if (parser && !parser.writableFinished) return; // checked again when the parser finishes
      const inData = parser ? (parser as unknown as { _dataMode?: boolean })._dataMode : false;
      if (!inData && (this._handlerPending || this._dataStream)) return; // after the next reply
      this.close();
    });
  }

  /**
   * A plain RCPT path (PLAIN_RCPT) is taken as it is; paths with a quoted local part
   * (`<"a b"@x.test>`) are parsed too (quoted-local-part.ts); smtp-server parses the rest.
   */
  override _parseAddressCommand(
    name: string,
    command: Buffer | string,
  ): ReturnType<SMTPConnection['_parseAddressCommand']> {
    const plain = this.plainPath;
    if (plain && plain.command === command && name === 'rcpt to')
      return { address: plain.address, args: false };
    if (name === 'rcpt to') {
      const address = plainRecipient(typeof command === 'string' ? command : command.toString('latin1'));
      if (address) return { address, args: false };
    }
    const quoted = quotedPath(String(command));
    if (!quoted) return super._parseAddressCommand(name, command);
    const parsed = super._parseAddressCommand(name, quoted.command);
    if (parsed && parsed.address) parsed.address = withLocalPart(parsed.address, quoted.localPart);
    return parsed;
  }

  override handler_DATA(command: Buffer, callback: () => void): void {
    if (!this.beforeData || this.session.envelope.rcptTo.length === 0)
      return super.handler_DATA(command, callback);
    this.beforeData(this, () => super.handler_DATA(command, callback), callback);
  }

  override send(code: number, data?: string | string[] | null, context?: string | false): void {
    if (this.inputEnded) this.closeWhenAnswered();
    this.batchReplies(code);
    const own = this.ownReply(code, context);
    if (own === 'closed') return;
    if (own) {
      this.sendAsIs(own.code, replyText(this.settings.profile, own));
      return;
    }
    const text = data ?? '';
    this.sendAsIs(
      code,
      this.settings.profile === 'rfc' ? withEnhancedCode(enhancedCodeFor(code, context), text) : text,
    );
  }

  /** smtp-server's send, told to add no enhanced code, and the transcript's record of it. */
  private sendAsIs(code: number, text: string | string[]): void {
    this.transcript?.reply(code, text);
    super.send(code, text, false);
  }

  /**
   * Replies to pipelined commands (a client that sends 32,800 RCPT at once) go out together: the
   * socket is corked for the rest of this turn of the event loop and uncorked right after it, so
   * the replies smtp-server produces one by one share a write instead of one system call each.
   * The uncork waits for the end of the turn (setImmediate), not just for the current operation
   * (nextTick): MAIL is answered in a later microtask (the free-space check is asynchronous), and
   * RSET MAIL RCPT DATA sent at once should still get one write. MAIL must stay asynchronous:
   * smtp-server 3.21's SMTPStream.continue() clears its continuation after calling it, so when a
   * whole pipelined transaction after a message runs synchronously to its own final dot, the
   * continuation for the next one is lost and the connection stalls (the "10 transactions in one
   * write" dialogue of test/hostile-input.test.ts).
   * Not for replies after which the connection changes hands (220 to STARTTLS) or closes.
   */
  private batchReplies(code: number): void {
    const socket = this._socket;
    if (
      this.corked ||
      code === 220 ||
      code === 221 ||
      code === 421 ||
      this._upgrading ||
      socket.writableCorked
    )
      return;
    this.corked = true;
    socket.cork();
    setImmediate(() => {
      this.corked = false;
      if (!socket.destroyed) socket.uncork();
    });
  }

  /** The relay's own reply in place of the one smtp-server composed, if there is one. */
  private ownReply(code: number, context: string | false | undefined): Reply | 'closed' | undefined {
    switch (context) {
      case 'RCPT_TO_OK':
        return REPLIES.recipientAccepted(this.pendingRecipient);
      case 'TOO_MANY_RECIPIENTS':
        return this.refuseOverCap();
    }
    if (code === 500 && context === 'AUTH' && this.settings.authAfterTls && !this.secure)
      return REPLIES.startTlsFirst;
    if (code === 214) return REPLIES.help;
    if (code === 252) return REPLIES.vrfy;
    return undefined;
  }

  private refuseOverCap(): Reply | 'closed' {
    if (this.capEnvelope !== this.session.envelope) this.endTransaction();
    this.capEnvelope = this.session.envelope;
    // a count, not a list: a refused RCPT leaves no state behind however many there are
    const overshoot = this.settings.maxRecipientOvershoot;
    if (++this.capRefused > overshoot && overshoot > 0) {
      this.observer.overshoot(this, this.capRefused - 1);
      const bye = REPLIES.recipientOvershoot(this.name, this.capRefused - 1);
      this.sendAsIs(bye.code, replyText(this.settings.profile, bye)); // 421 closes the connection
      this.capRefused = 0;
      return 'closed';
    }
    return REPLIES.recipientCap;
  }

  /**
   * Reports the cap refusals of the transaction that just ended, once. Called when a transaction
   * ends: after DATA (with its queue ID), at the next MAIL, and when the connection closes.
   */
  endTransaction(queueId?: string): void {
    if (this.capRefused > 0) {
      const envelope = this.capEnvelope as { rcptTo?: unknown[] } | undefined;
      this.observer.capSummary(this, this.capRefused, envelope?.rcptTo?.length ?? 0, queueId);
    }
    this.capRefused = 0;
    this.capEnvelope = undefined;
  }
}
