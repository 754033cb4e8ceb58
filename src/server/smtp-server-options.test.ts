import { describe, expect, it } from 'vitest';
import { commandAvailability, smtpServerOptions, type SmtpServerSettings } from './smtp-server-options.js';

const settings: SmtpServerSettings = {
  hostname: 'relay.test',
  profile: 'ims',
  reverseDns: false,
  maxMessageSize: 26_214_400,
  maxRecipients: 32_766,
  maxClients: 100,
  socketTimeoutMs: 300_000,
};
const tls = { key: Buffer.from('key'), cert: Buffer.from('cert') };
const users = new Map([['alice', 'hash']]);

describe('commandAvailability', () => {
  it('offers neither STARTTLS nor AUTH without a certificate and users', () => {
    expect(commandAvailability({ allowInsecureAuth: false })).toEqual({
      disabled: ['STARTTLS', 'AUTH'],
      beforeTls: ['STARTTLS', 'AUTH'],
      authAfterTls: false,
    });
  });

  it('offers AUTH only after STARTTLS unless insecure AUTH is allowed', () => {
    expect(commandAvailability({ tls, users, allowInsecureAuth: false })).toEqual({
      disabled: [],
      beforeTls: ['AUTH'],
      authAfterTls: true,
    });
    expect(commandAvailability({ tls, users, allowInsecureAuth: true })).toEqual({
      disabled: [],
      beforeTls: [],
      authAfterTls: false,
    });
    expect(commandAvailability({ users, allowInsecureAuth: true }).disabled).toEqual(['STARTTLS']);
    expect(commandAvailability({ users, allowInsecureAuth: false }).disabled).toEqual(['STARTTLS', 'AUTH']);
  });
});

describe('smtpServerOptions', () => {
  it('takes each option from its setting', () => {
    const options = smtpServerOptions(
      settings,
      { allowInsecureAuth: false },
      commandAvailability({ allowInsecureAuth: false }),
    );
    expect(options).toMatchObject({
      name: 'relay.test',
      secure: false,
      hideSTARTTLS: true,
      hideENHANCEDSTATUSCODES: true,
      disableReverseLookup: true,
      size: 26_214_400,
      maxRecipients: 32_766,
      maxClients: 100,
      socketTimeout: 300_000,
      disabledCommands: ['STARTTLS', 'AUTH'],
    });
    expect(options).not.toHaveProperty('key');
  });

  it('shows enhanced status codes in the rfc profile and carries the certificate', () => {
    const security = { tls, implicitTls: true, allowInsecureAuth: false };
    const options = smtpServerOptions(
      { ...settings, profile: 'rfc', reverseDns: true },
      security,
      commandAvailability(security),
    );
    expect(options).toMatchObject({
      secure: true,
      key: tls.key,
      cert: tls.cert,
      hideSTARTTLS: false,
      hideENHANCEDSTATUSCODES: false,
      disableReverseLookup: false,
    });
  });
});
