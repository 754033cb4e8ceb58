/**
 * `ims-relay health`: exit 0 when the relay answers SMTP with a 220 greeting (and its admin API,
 * when it has one, answers /healthz and /readyz); exit 1 otherwise — also when it answers but is
 * degraded (/readyz 503: free space under --min-free-disk, so MAIL gets 452). For Docker's
 * HEALTHCHECK and scripts.
 */
import net from 'node:net';
import type { Command } from 'commander';
import { formatHostPort, parseHostPort, type HostPort } from '../config/host-port.js';
import { readRuntimeInfo } from '../spool/runtime-info.js';
import type { CliIO } from './cli-io.js';
import { resolveToolConfig } from './tool-config.js';

function reachable({ host, port }: HostPort): HostPort {
  if (host === '0.0.0.0') return { host: '127.0.0.1', port };
  if (host === '::') return { host: '::1', port };
  return { host, port };
}

function smtpGreeting(target: HostPort, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(target.port, target.host);
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no greeting within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      text += d;
      const line = /^(\d{3})[ -][^\r\n]*\r?\n/.exec(text);
      if (!line) return;
      clearTimeout(timer);
      socket.end('QUIT\r\n');
      if (line[1] === '220') resolve(line[0].trim());
      else reject(new Error(`greeting was "${line[0].trim()}"`));
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

export function registerHealth(program: Command, io: CliIO, done: (code: number) => void): void {
  program
    .command('health')
    .description(
      'check that the relay answers: SMTP greeting 220 (and GET /healthz and /readyz when it has an admin API); exit 0 when healthy, 1 when down or degraded (/readyz 503: low free disk)',
    )
    .option(
      '--smtp <HOST:PORT>',
      'SMTP address to check (default: the running relay of --spool, else the configured --smtp)',
    )
    .option('--spool <DIR>', 'spool of the relay (default ./spool or IMS_RELAY_SPOOL)')
    .option('--config <FILE>', 'config file to read the addresses from')
    .option('--timeout <MS>', 'how long to wait for each answer', '5000')
    .action(async (options: { smtp?: string; spool?: string; config?: string; timeout: string }) => {
      const resolved = await resolveToolConfig(options, io);
      if (!resolved.ok) return done(2);
      const config = resolved.config;
      const running = readRuntimeInfo(config.spool);
      let target: HostPort;
      if (options.smtp) {
        const parsed = parseHostPort(options.smtp);
        if (typeof parsed === 'string') {
          io.stderr.write(`ims-relay health: --smtp: ${parsed}; got "${options.smtp}"\n`);
          return done(2);
        }
        target = parsed;
      } else if (running) {
        target = parseHostPort(running.smtp) as HostPort;
      } else {
        target = config.smtp;
      }
      target = reachable(target);
      const timeoutMs = Number(options.timeout) || 5000;
      try {
        const greeting = await smtpGreeting(target, timeoutMs);
        // the admin API of the relay of this spool, unless another SMTP address was asked for
        const http = running?.http && !options.smtp ? await checkHttp(running.http, timeoutMs) : undefined;
        const said = `SMTP ${formatHostPort(target)} "${greeting}"${http ? `, HTTP ${http.said}` : ''}`;
        if (http?.notReady) {
          // it answers, but refuses mail (452 at MAIL) until there is free space again
          io.stderr.write(`degraded: ${said}, but /readyz answered 503: ${http.notReady}\n`);
          return done(1);
        }
        io.stdout.write(`ok: ${said}\n`);
        done(0);
      } catch (err) {
        io.stderr.write(`unhealthy: SMTP ${formatHostPort(target)}: ${(err as Error).message}\n`);
        done(1);
      }
    });
}

/** GET /healthz (must be 200) and /readyz (503 while free space is low: degraded). */
async function checkHttp(
  address: string,
  timeoutMs: number,
): Promise<{ said: string; notReady: string | undefined }> {
  const target = reachable(parseHostPort(address) as HostPort);
  const host = target.host.includes(':') ? `[${target.host}]` : target.host;
  const get = (route: string) =>
    fetch(`http://${host}:${target.port}${route}`, { signal: AbortSignal.timeout(timeoutMs) });
  const response = await get('/healthz');
  if (!response.ok) throw new Error(`HTTP /healthz answered ${response.status}`);
  const ready = await get('/readyz');
  const notReady =
    ready.status === 503
      ? (((await ready.json().catch(() => ({}))) as { reason?: string }).reason ?? 'not ready')
      : undefined;
  return { said: `${formatHostPort(target)} /healthz ${response.status}, /readyz ${ready.status}`, notReady };
}
