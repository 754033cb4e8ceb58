/**
 * `ims-relay/testcontainers`: ImsRelayContainer, a Testcontainers module (testcontainers 11.x) that
 * starts ims-relay in a container for one test or one suite, in capture mode, with SMTP and the
 * HTTP API published on free host ports and a client for the API.
 *
 *   const relay = await new ImsRelayContainer().withMaxRecipients(3).start();
 *   // send to relay.getSmtpHost():relay.getSmtpPort(), then
 *   const mail = await relay.api.waitForMail({ to: 'a@example.test' });
 *   await relay.stop();
 */
import { randomBytes } from 'node:crypto';
import { AbstractStartedContainer, GenericContainer, Wait, type StartedTestContainer } from 'testcontainers';
import { RelayApi } from '../client/relay-api.js';

const SMTP_PORT = 2525;
const HTTP_PORT = 8025;

/** The image it starts unless told otherwise (build it with `docker build -t ims-relay .`). */
export const DEFAULT_IMAGE = 'ims-relay:latest';

export class ImsRelayContainer extends GenericContainer {
  private readonly token = randomBytes(18).toString('base64url');
  private readonly settings: Record<string, string> = {};

  constructor(image = DEFAULT_IMAGE) {
    super(image);
    this.withExposedPorts(SMTP_PORT, HTTP_PORT).withWaitStrategy(
      Wait.forHttp('/readyz', HTTP_PORT).forStatusCode(200),
    );
  }

  /** Any setting, by its config-file key (`maxRecipients`, `profile`, ...): see `ims-relay serve --help`. */
  withSetting(key: string, value: string | number | boolean | string[]): this {
    const name = `IMS_RELAY_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
    this.settings[name] = Array.isArray(value) ? value.join('\n') : String(value);
    return this;
  }

  /** Recipients per transaction before the 452s (default 32,766). */
  withMaxRecipients(n: number): this {
    return this.withSetting('maxRecipients', n);
  }

  /** Failure rules at delivery, e.g. `['*@bounce.test=550 5.1.1 User unknown']`. */
  withFailureRules(rules: string[]): this {
    return this.withSetting('fail', rules);
  }

  /** SMTP-stage rules, e.g. `['rcpt:*@nouser.test=550 5.1.1 User unknown']`. */
  withSmtpRules(rules: string[]): this {
    return this.withSetting('smtpRule', rules);
  }

  override async start(): Promise<StartedImsRelayContainer> {
    this.withEnvironment({
      IMS_RELAY_HTTP: `0.0.0.0:${HTTP_PORT}`,
      IMS_RELAY_ADMIN_TOKEN: this.token,
      ...this.settings,
    });
    return new StartedImsRelayContainer(await super.start(), this.token);
  }
}

export class StartedImsRelayContainer extends AbstractStartedContainer {
  /** A client for the relay's HTTP API (captured mail, failure rules, SMTP-stage rules). */
  readonly api: RelayApi;

  constructor(
    started: StartedTestContainer,
    /** The admin token the container was started with (every API call sends it). */
    readonly token: string,
  ) {
    super(started);
    this.api = new RelayApi(this.getHttpUrl(), token);
  }

  getSmtpHost(): string {
    return this.getHost();
  }

  getSmtpPort(): number {
    return this.getMappedPort(SMTP_PORT);
  }

  getHttpPort(): number {
    return this.getMappedPort(HTTP_PORT);
  }

  /** `http://HOST:PORT` of the relay's HTTP API. */
  getHttpUrl(): string {
    return `http://${this.getHost()}:${this.getHttpPort()}`;
  }

  /** nodemailer transport options for this relay. */
  getSmtpOptions(): { host: string; port: number; secure: false; ignoreTLS: true } {
    return { host: this.getSmtpHost(), port: this.getSmtpPort(), secure: false, ignoreTLS: true };
  }
}
