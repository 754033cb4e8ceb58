/**
 * `ims-relay serve`: resolves the configuration, runs the relay until SIGTERM/SIGINT.
 */
import { Option, type Command } from 'commander';
import type { RawSettings } from '../config/relay-config.js';
import { SETTINGS, envName, flagName } from '../config/settings.js';
import { formatHostPort } from '../config/host-port.js';
import type { EventLog } from '../events/event-log.js';
import type { CliIO } from './cli-io.js';
import { limitHeapGrowth } from './heap-growth.js';

export function addSettingOptions(command: Command): Command {
  for (const s of SETTINGS) {
    const flag = `--${flagName(s.key)}${'valueName' in s ? ` <${s.valueName}>` : ' [BOOL]'}`;
    const option = new Option(flag, `${s.description} (default: ${s.defaultText}; env ${envName(s.key)})`);
    // a repeatable flag (--fail) collects every value given
    if ('repeatable' in s && s.repeatable)
      option.argParser((value: string, previous: string[] = []) => [...previous, value]);
    command.addOption(option);
  }
  return command;
}

export async function serve(options: Record<string, unknown>, io: CliIO): Promise<number> {
  const flags: RawSettings = {};
  for (const s of SETTINGS) {
    const v = options[s.key];
    if (v !== undefined) flags[s.key] = v === true ? 'true' : v;
  }
  // the checks of the settings (zod, yaml) are loaded when a configuration is resolved: the other
  // commands, --help and --version start without them
  const { resolveConfig } = await import('../config/relay-config.js');
  const resolved = resolveConfig({
    flags,
    env: io.env,
    ...(typeof options.config === 'string' ? { configFile: options.config } : {}),
  });
  if (!resolved.ok) {
    io.stderr.write(`ims-relay: ${resolved.message}\n`);
    return 2;
  }
  // listen for SIGTERM/SIGINT before saying we are ready: a signal that comes right after the
  // ready line must stop the relay gracefully, not kill it
  const stopRequested = io.stopSignal();
  // test-only: a message containing this text kills the relay when it is processed (never documented
  // as a setting; only the test suite sets it)
  const crashOn = io.env.IMS_RELAY_TEST_CRASH_ON;
  limitHeapGrowth();
  // the relay's modules are loaded when it is served: the other commands start without them
  const { runRelay } = await import('../relay.js');
  const started = await runRelay(resolved.config, {}, crashOn ? { crashOn } : {});
  if (!started.ok) {
    io.stderr.write(`ims-relay: ${started.message}\n`);
    return 1;
  }
  const { relay } = started;
  killAfterEventForTests(relay.events, io.env);
  // stdout holds JSON lines only (`serve | jq` works): the ready line is one too, printed whatever
  // the --log-level, in the shape of the log lines around it
  const smtp = formatHostPort(relay.smtp);
  const http = relay.http ? `http://${formatHostPort(relay.http)}` : null;
  io.stdout.write(
    JSON.stringify({
      level: 30,
      time: Date.now(),
      ready: true,
      smtp,
      ...(relay.smtps ? { smtps: formatHostPort(relay.smtps) } : {}),
      http,
      spool: relay.config.spool,
      events: relay.config.events,
      message: `ims-relay ready: SMTP on ${smtp}, spool ${relay.config.spool}, events ${relay.config.events}, admin API ${http ?? 'off'}`,
    }) + '\n',
  );
  const signal = await stopRequested;
  relay.events.logger.info(`${signal} received: finishing transactions in flight and stopping`);
  await relay.stop();
  return 0;
}

/**
 * Crash tests only: with IMS_RELAY_TEST_KILL_AFTER_EVENT=ID the process flushes the events file and
 * SIGKILLs itself right after the first event with that ID, to put a real kill at that exact point
 * (e.g. between event 3041 and the journal record that follows it). Not a setting: no flag, no
 * config key, not in the reference.
 */
function killAfterEventForTests(events: EventLog, env: Record<string, string | undefined>): void {
  const id = Number(env.IMS_RELAY_TEST_KILL_AFTER_EVENT);
  if (!Number.isInteger(id) || id <= 0) return;
  events.subscribe((event) => {
    if (event.id !== id) return;
    events.flush();
    process.kill(process.pid, 'SIGKILL');
  });
}

export function registerServe(program: Command, io: CliIO, done: (code: number) => void): void {
  addSettingOptions(
    program
      .command('serve')
      .description(
        'run the relay: SMTP listener, spool and delivery (settings: defaults < --config file < IMS_RELAY_* < flags)',
      )
      .option('--config <FILE>', 'JSON or YAML file with settings (keys as in the README)'),
  ).action(async (options: Record<string, unknown>) => done(await serve(options, io)));
}
