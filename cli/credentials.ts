// Where `keel login` keeps the API URL and key: ~/.config/keel/credentials (or $XDG_CONFIG_HOME/keel), mode 0600.
// KEEL_URL and KEEL_API_KEY override it; --url and --key override both.
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { usageError } from './cli-errors.js';

export interface Credentials {
  url: string;
  key: string;
}

export const DEFAULT_URL = 'http://localhost:3000';

/** The environment the CLI reads: only these names. */
export interface CliEnvironment {
  KEEL_URL?: string;
  KEEL_API_KEY?: string;
  XDG_CONFIG_HOME?: string;
  HOME?: string;
}

export function credentialsPath(env: CliEnvironment): string {
  const configHome = env.XDG_CONFIG_HOME || path.join(env.HOME || os.homedir(), '.config');
  return path.join(configHome, 'keel', 'credentials');
}

export async function readStoredCredentials(env: CliEnvironment): Promise<Partial<Credentials>> {
  let text: string;
  try {
    text = await readFile(credentialsPath(env), 'utf8');
  } catch {
    return {};
  }
  try {
    const parsed = JSON.parse(text) as Partial<Credentials>;
    return { url: typeof parsed.url === 'string' ? parsed.url : undefined, key: typeof parsed.key === 'string' ? parsed.key : undefined };
  } catch {
    throw usageError(`${credentialsPath(env)} is not valid JSON: run keel login again`);
  }
}

export async function storeCredentials(env: CliEnvironment, credentials: Credentials): Promise<string> {
  const file = credentialsPath(env);
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  // Written with 0600 from the first byte; chmod in case the file existed with wider permissions.
  await writeFile(file, `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600 });
  await chmod(file, 0o600);
  return file;
}

export async function removeCredentials(env: CliEnvironment): Promise<boolean> {
  const file = credentialsPath(env);
  try {
    await rm(file);
    return true;
  } catch {
    return false;
  }
}

/** Flags, then the environment, then the stored file. */
export async function resolveCredentials(
  env: CliEnvironment,
  flags: { url?: string; key?: string },
): Promise<{ url: string; key: string | undefined }> {
  const stored = await readStoredCredentials(env);
  const url = flags.url ?? env.KEEL_URL ?? stored.url ?? DEFAULT_URL;
  return { url: url.replace(/\/+$/, ''), key: flags.key ?? env.KEEL_API_KEY ?? stored.key };
}
