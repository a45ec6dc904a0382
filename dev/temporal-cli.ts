// Finds the Temporal CLI (which carries the dev server) without a human:
// PATH → project tool folder → shared user cache → `go install` → the SDK's own download.
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { childProcessEnv, readSetting } from '../config.js';

const execFileAsync = promisify(execFile);

export const TEMPORAL_CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal';
// Later tags carry a `replace` directive in go.mod, which `go install pkg@version` refuses.
export const TEMPORAL_CLI_VERSION = 'v1.5.1';

export const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const projectToolDir = path.join(projectRoot, '.tools', 'bin');
/** Shared between clones of the project (CI clones afresh each run), so the build happens once per machine. */
export function userToolDir(): string {
  return path.join(readSetting('cacheHome'), 'keel', 'bin');
}

export type TemporalCli =
  | { kind: 'binary'; path: string; source: 'path' | 'project' | 'user-cache' | 'go-install' }
  | { kind: 'sdk-download' };

async function isExecutable(file: string): Promise<boolean> {
  try {
    await fs.access(file, fs.constants.X_OK);
    return (await fs.stat(file)).isFile();
  } catch {
    return false;
  }
}

async function findOnPath(name: string): Promise<string | undefined> {
  for (const dir of readSetting('searchPath')) {
    const candidate = path.join(dir, name);
    if (await isExecutable(candidate)) return candidate;
  }
  return undefined;
}

async function goAvailable(): Promise<boolean> {
  try {
    await execFileAsync('go', ['version']);
    return true;
  } catch {
    return false;
  }
}

async function linkIntoProject(binary: string): Promise<void> {
  await fs.mkdir(projectToolDir, { recursive: true });
  const link = path.join(projectToolDir, 'temporal');
  await fs.rm(link, { force: true });
  await fs.symlink(binary, link);
}

/** Builds the CLI with Go into the user cache; streams Go's output so a newcomer sees progress. */
export async function buildTemporalCli(log: (line: string) => void = console.error): Promise<string> {
  const toolDir = userToolDir();
  await fs.mkdir(toolDir, { recursive: true });
  log(`Building the Temporal CLI ${TEMPORAL_CLI_VERSION} with Go into ${toolDir} (one time, several minutes)…`);
  const started = Date.now();
  await new Promise<void>((resolve, reject) => {
    const child = spawn('go', ['install', `${TEMPORAL_CLI_MODULE}@${TEMPORAL_CLI_VERSION}`], {
      env: childProcessEnv({ GOBIN: toolDir, GOFLAGS: '-mod=mod' }),
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`go install exited with ${code}`))));
  });
  log(`Temporal CLI built in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  return path.join(toolDir, 'temporal');
}

export async function findTemporalCli(options: { build?: boolean } = {}): Promise<TemporalCli> {
  const onPath = await findOnPath('temporal');
  if (onPath) return { kind: 'binary', path: onPath, source: 'path' };
  const inProject = path.join(projectToolDir, 'temporal');
  if (await isExecutable(inProject)) return { kind: 'binary', path: inProject, source: 'project' };
  const inUserCache = path.join(userToolDir(), 'temporal');
  if (await isExecutable(inUserCache)) {
    await linkIntoProject(inUserCache);
    return { kind: 'binary', path: inUserCache, source: 'user-cache' };
  }
  if (options.build !== false && (await goAvailable())) {
    const built = await buildTemporalCli();
    await linkIntoProject(built);
    return { kind: 'binary', path: built, source: 'go-install' };
  }
  return { kind: 'sdk-download' };
}

export function describeTemporalCli(cli: TemporalCli): string {
  return cli.kind === 'binary' ? `${cli.path} (${cli.source})` : "@temporalio/testing's cached download";
}

// `npx tsx dev/temporal-cli.ts` installs the CLI ahead of time (used by .ci/run and `npm run setup`).
if (process.argv[1] && existsSync(process.argv[1]) && fileURLToPath(import.meta.url) === (await fs.realpath(process.argv[1]))) {
  const cli = await findTemporalCli();
  console.log(`Temporal CLI: ${describeTemporalCli(cli)}`);
}
