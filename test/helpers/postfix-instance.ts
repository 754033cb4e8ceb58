/**
 * A private Postfix instance on loopback for tests (Debian's postfix package; .ci/run installs it):
 * its own config, queue and log under a temporary folder, listening on 127.0.0.1:PORT, relaying
 * everything for example.test to `relayhost` and refusing the addresses in `reject`.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { tempDir } from './test-relay.js';

const run = promisify(execFile);

export const havePostfix = fs.existsSync('/usr/sbin/postfix') && process.getuid?.() === 0;

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export class PostfixInstance {
  private constructor(
    readonly base: string,
    readonly port: number,
  ) {}

  private get config(): string {
    return path.join(this.base, 'etc');
  }

  /** `mainCf`: further main.cf lines; a parameter given again there wins over the defaults above. */
  static async start(options: {
    relayhost: string;
    reject?: string[];
    mainCf?: string[];
    settings?: string[];
  }): Promise<PostfixInstance> {
    const base = tempDir('ims-postfix-');
    fs.chmodSync(base, 0o755);
    const port = await freePort();
    const etc = path.join(base, 'etc');
    for (const d of ['etc', 'queue', 'data']) fs.mkdirSync(path.join(base, d), { recursive: true });
    const rejects = (options.reject ?? []).map(
      (a) => `${a}=REJECT 5.1.1 <${a}>: Recipient address rejected: User unknown`,
    );
    fs.writeFileSync(
      path.join(etc, 'main.cf'),
      [
        'compatibility_level = 3.6',
        `queue_directory = ${base}/queue`,
        `data_directory = ${base}/data`,
        `maillog_file = ${base}/maillog`,
        `maillog_file_prefixes = ${base}`,
        'myhostname = postfix.test',
        'mydestination =',
        'inet_interfaces = 127.0.0.1',
        'inet_protocols = ipv4',
        'mynetworks = 127.0.0.0/8',
        'relay_domains = example.test',
        `relayhost = ${options.relayhost}`,
        'smtpd_relay_restrictions = permit_mynetworks, reject',
        rejects.length > 0
          ? `smtpd_recipient_restrictions = check_recipient_access inline:{ ${rejects.map((r) => `{ ${r} }`).join(', ')} }`
          : 'smtpd_recipient_restrictions =',
        'alias_maps =',
        'alias_database =',
        'local_recipient_maps =',
        'access_map_reject_code = 550',
        'smtpd_tls_security_level = none',
        'smtp_tls_security_level = none',
        'smtpd_peername_lookup = no',
        'smtp_host_lookup = native',
        'biff = no',
        'queue_run_delay = 1s',
        'minimal_backoff_time = 1s',
        'maximal_backoff_time = 2s',
        ...(options.mainCf ?? []),
        ...(options.settings ?? []),
      ].join('\n') + '\n',
    );
    fs.copyFileSync('/etc/postfix/master.cf', path.join(etc, 'master.cf'));
    await run('postconf', ['-c', etc, '-MX', 'smtp/inet']);
    await run('postconf', [
      '-c',
      etc,
      '-M',
      `127.0.0.1:${port}/inet = 127.0.0.1:${port} inet n - n - - smtpd`,
    ]);
    for (const s of [
      'maildrop/unix',
      'uucp/unix',
      'ifmail/unix',
      'bsmtp/unix',
      'scalemail-backend/unix',
      'mailman/unix',
      'tlsmgr/unix',
    ]) {
      await run('postconf', ['-c', etc, '-MX', s]).catch(() => undefined);
    }
    const { stdout } = await run('postconf', ['-c', etc, '-M']);
    for (const line of stdout.split('\n').filter(Boolean)) {
      const [name, type] = line.split(/\s+/);
      await run('postconf', ['-c', etc, '-F', `${name}/${type}/chroot = n`]);
    }
    await run('chown', ['postfix:postfix', path.join(base, 'data')]);
    await run('postfix', ['-c', etc, 'check']);
    await run('postfix', ['-c', etc, 'start']);
    const instance = new PostfixInstance(base, port);
    for (let i = 0; i < 100; i++) {
      if (await canConnect(port)) return instance;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`Postfix did not listen on ${port}; log:\n${instance.log()}`);
  }

  log(): string {
    try {
      return fs.readFileSync(path.join(this.base, 'maillog'), 'utf8');
    } catch {
      return '';
    }
  }

  async stop(): Promise<void> {
    await run('postfix', ['-c', this.config, 'stop']).catch(() => undefined);
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
