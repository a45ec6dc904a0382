// Where a generated admin key goes: a file only its owner can read, in the data directory (the data volume under
// Compose), never a log line or stdout that a log collector keeps. The operator reads it once, stores the key and
// deletes the file.
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

export const ADMIN_KEY_FILE = 'admin-key';

export function adminKeyFilePath(dataDir: string): string {
  return path.join(dataDir, ADMIN_KEY_FILE);
}

/** Writes the key whole (temp file, then rename) with mode 0600; returns the file's path. */
export async function writeAdminKeyFile(dataDir: string, secret: string): Promise<string> {
  const file = adminKeyFilePath(dataDir);
  await mkdir(dataDir, { recursive: true });
  const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  try {
    await writeFile(temp, `${secret}\n`, { mode: 0o600, flag: 'wx' });
    // The umask cannot widen 0600, but a filesystem may ignore the mode on create: set it explicitly.
    await chmod(temp, 0o600);
    await rename(temp, file);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  return file;
}
