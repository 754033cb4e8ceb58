/**
 * What smtp-server itself is told, from the relay's settings: which option comes from which
 * setting, and which commands a session may use. The handlers (onConnect, onAuth, onRcptTo, …)
 * are the listener's protocol decisions (smtp-listener.ts).
 */
import type { SMTPServerOptions } from 'smtp-server';
import type { Profile } from './replies.js';

/** The settings smtp-server's options come from. */
export interface SmtpServerSettings {
  hostname: string;
  profile: Profile;
  reverseDns: boolean;
  maxMessageSize: number;
  maxRecipients: number;
  maxClients: number;
  socketTimeoutMs: number;
}

/** What the listener offers besides plain SMTP. */
export interface SmtpServerSecurity {
  tls?: { key: Buffer; cert: Buffer };
  implicitTls?: boolean;
  users?: Map<string, string>;
  allowInsecureAuth: boolean;
}

/** Which commands a session may use. */
export interface CommandAvailability {
  /** Never offered: STARTTLS without a certificate, AUTH without users (or before TLS only). */
  disabled: string[];
  /** Not offered before STARTTLS (with implicit TLS there is no before). */
  beforeTls: string[];
  /** AUTH is offered after STARTTLS only: an AUTH before it gets 530 instead of "not recognized". */
  authAfterTls: boolean;
}

/** AUTH only with a users file, and before TLS only with allowInsecureAuth. */
export function commandAvailability(security: SmtpServerSecurity): CommandAvailability {
  const { tls, users } = security;
  const authAvailable = Boolean(users) && (Boolean(tls) || security.allowInsecureAuth);
  const disabled = [...(tls ? [] : ['STARTTLS']), ...(authAvailable ? [] : ['AUTH'])];
  const authAfterTls = authAvailable && !security.allowInsecureAuth;
  return { disabled, beforeTls: authAfterTls ? [...disabled, 'AUTH'] : disabled, authAfterTls };
}

/** smtp-server's options, the handlers aside. */
export function smtpServerOptions(
  settings: SmtpServerSettings,
  security: SmtpServerSecurity,
  commands: CommandAvailability,
): SMTPServerOptions {
  const { tls } = security;
  return {
    name: settings.hostname,
    banner: 'ims-relay ready',
    logger: false,
    // replies to a client that half-closed still go out (ImsConnection closes after them)
    ...({ allowHalfOpen: true } as object),
    secure: Boolean(security.implicitTls),
    ...(tls ? { key: tls.key, cert: tls.cert } : {}),
    authOptional: true,
    authMethods: ['PLAIN', 'LOGIN'],
    allowInsecureAuth: security.allowInsecureAuth,
    disabledCommands: commands.disabled,
    hideSTARTTLS: !tls,
    // the IMS had no enhanced status codes; the rfc profile has them
    hideENHANCEDSTATUSCODES: settings.profile !== 'rfc',
    hideDSN: false,
    disableReverseLookup: !settings.reverseDns,
    size: settings.maxMessageSize,
    maxRecipients: settings.maxRecipients,
    maxClients: settings.maxClients,
    socketTimeout: settings.socketTimeoutMs,
  };
}
