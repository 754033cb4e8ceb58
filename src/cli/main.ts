/**
 * The `ims-relay` command line. The only module besides bin/ that deals with argv, the
 * environment, signals and exit codes: 0 success, 1 runtime failure, 2 bad usage or configuration.
 */
import { Command, CommanderError, Option } from 'commander';
import { resolveConfig, type RawSettings } from '../config/relay-config.js';
import { SETTINGS, envName, flagName } from '../config/settings.js';
import { formatHostPort } from '../config/host-port.js';
import { startRelay } from '../relay.js';
import { VERSION } from '../version.js';

export interface CliIO {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: Record<string, string | undefined>;
  /** Resolves when the process is asked to stop (SIGTERM/SIGINT). */
  stopSignal: () => Promise<string>;
}

const processIO = (): CliIO => ({
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  stopSignal: () =>
    new Promise((resolve) => {
      const on = (signal: NodeJS.Signals) => {
        process.off('SIGTERM', on);
        process.off('SIGINT', on);
        resolve(signal);
      };
      process.on('SIGTERM', on);
      process.on('SIGINT', on);
    }),
});

function addSettingOptions(command: Command): Command {
  for (const s of SETTINGS) {
    const flag = `--${flagName(s.key)}${'valueName' in s ? ` <${s.valueName}>` : ' [BOOL]'}`;
    command.addOption(
      new Option(flag, `${s.description} (default: ${s.defaultText}; env ${envName(s.key)})`),
    );
  }
  return command;
}

async function serve(options: Record<string, unknown>, io: CliIO): Promise<number> {
  const flags: RawSettings = {};
  for (const s of SETTINGS) {
    const v = options[s.key];
    if (v !== undefined) flags[s.key] = v === true ? 'true' : v;
  }
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
  const started = await startRelay(resolved.config);
  if (!started.ok) {
    io.stderr.write(`ims-relay: ${started.message}\n`);
    return 1;
  }
  const { relay } = started;
  io.stdout.write(
    `ims-relay ready: SMTP on ${formatHostPort(relay.smtp)}, spool ${relay.config.spool}, events ${relay.config.events}\n`,
  );
  const signal = await stopRequested;
  relay.events.logger.info(`${signal} received: finishing transactions in flight and stopping`);
  await relay.stop();
  return 0;
}

export async function main(argv: string[], io: CliIO = processIO()): Promise<number> {
  let exitCode = 0;
  const program = new Command()
    .name('ims-relay')
    .description(
      'SMTP relay and test server with the recipient semantics of the Exchange 5.5 Internet Mail Service:\n' +
        '250 for recipients 1..32,766 of a transaction, 452 after that, a durable spool and an IMS-style event log.',
    )
    .version(VERSION)
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    })
    .showHelpAfterError('(run with --help for usage)');

  addSettingOptions(
    program
      .command('serve')
      .description(
        'run the relay: SMTP listener and spool (settings: defaults < --config file < IMS_RELAY_* < flags)',
      )
      .option('--config <FILE>', 'JSON or YAML file with settings (keys as in the README)'),
  ).action(async (options: Record<string, unknown>) => {
    exitCode = await serve(options, io);
  });

  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.exitCode === 0 ? 0 : 2;
    }
    throw err;
  }
  return exitCode;
}
