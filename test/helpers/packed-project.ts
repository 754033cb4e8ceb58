/**
 * A fresh project that installs ims-relay the way a user does: `npm pack` of this checkout, then
 * `npm install ./ims-relay-x.y.z.tgz` with the tools its README uses (nodemailer, vitest and, for
 * ImsRelayContainer, testcontainers) into an empty folder.
 *
 * Kept fast and offline where it can be: npm takes the packages from its cache (`--prefer-offline`;
 * `npm ci` of this checkout has put them there), the versions are this checkout's, and
 * better-sqlite3's install step finds its compiled module as a "local prebuild" made from this
 * checkout's (prebuild-install's `npm_config_<package>_local_prebuilds`), instead of trying a
 * download that this network refuses and then compiling SQLite for minutes. The install scripts of
 * testcontainers' optional native helpers (cpu-features, ssh2's) are declined with npm's
 * `allowScripts`: ssh2 works without them.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from './test-relay.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

const versionOf = (pkg: string): string =>
  (
    JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules', pkg, 'package.json'), 'utf8')) as {
      version: string;
    }
  ).version;

export interface PackedProject {
  dir: string;
  /** How long `npm install` took, in ms (measured, never asserted). */
  installMs: number;
  remove(): void;
}

/**
 * Packs this checkout (dist/ must be built: `npm test` builds it first) and installs the tarball and
 * `tools` (package names, at this checkout's versions) into a new temporary project.
 */
export function packedProject(tools: readonly string[] = ['nodemailer']): PackedProject {
  const dir = tempDir('ims-consumer-');
  // --ignore-scripts keeps pack from building dist/ again
  const packed = JSON.parse(
    execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], {
      cwd: ROOT,
      encoding: 'utf8',
    }),
  ) as { filename: string }[];

  const sqlite = versionOf('better-sqlite3');
  const env: NodeJS.ProcessEnv = { ...process.env };
  const compiled = path.join(
    ROOT,
    'node_modules',
    'better-sqlite3',
    'build',
    'Release',
    'better_sqlite3.node',
  );
  if (fs.existsSync(compiled)) {
    const prebuilds = path.join(dir, '.prebuilds');
    fs.mkdirSync(prebuilds);
    const name = `better-sqlite3-v${sqlite}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`;
    execFileSync('tar', [
      'czf',
      path.join(prebuilds, name),
      '-C',
      path.join(ROOT, 'node_modules', 'better-sqlite3'),
      'build/Release/better_sqlite3.node',
    ]);
    env.npm_config_better_sqlite3_local_prebuilds = prebuilds;
  }
  fs.writeFileSync(
    path.join(dir, 'package.json'),
    JSON.stringify(
      {
        name: 'consumer',
        private: true,
        // the SQLite module above was compiled for this version
        overrides: { 'better-sqlite3': sqlite },
        allowScripts: {
          'better-sqlite3': true,
          protobufjs: true,
          'cpu-features': false,
          ssh2: false,
          'ims-relay': false,
        },
      },
      null,
      2,
    ),
  );
  const started = Date.now();
  execFileSync(
    'npm',
    [
      'install',
      `./${packed[0]!.filename}`,
      ...tools.map((t) => `${t}@${versionOf(t)}`),
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      '--loglevel',
      'error',
    ],
    { cwd: dir, encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  return {
    dir,
    installMs: Date.now() - started,
    remove: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * The TypeScript examples of the README's "Testing your mail code against it" section, as written
 * there: each ```ts block that imports ims-relay.
 */
export function readmeTestExamples(): string[] {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('\n## Testing your mail code against it');
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/```ts\n([\s\S]*?)```/g)]
    .map((m) => m[1]!)
    .filter((code) => /from 'ims-relay(\/[a-z]+)?'/.test(code));
}
