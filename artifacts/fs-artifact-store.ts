// Filesystem artifact store: `<root>/sha256/<ab>/<sha256><ext>`, written atomically
// (temp file in the destination directory, fsync, rename, fsync of the directory).
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, constants, mkdir, open, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pathToFileURL } from 'node:url';
import {
  ArtifactIntegrityError,
  ArtifactNotFoundError,
  assertSha256,
  type ArtifactStore,
  type PutFileOptions,
  type PutOptions,
  type StoredArtifact,
} from './artifact-store.js';

const EXTENSION_PATTERN = /^(\.[a-z0-9]{1,12})*$/i;
const TEMP_PREFIX = '.tmp-';

export async function sha256OfFile(path: string): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { sha256: hash.digest('hex'), size };
}

export class FsArtifactStore implements ArtifactStore {
  /** sha256 → "size:mtimeMs" of files this process already hashed, so repeated `localPath` calls stay cheap. */
  private readonly verified = new Map<string, string>();

  constructor(readonly root: string) {}

  async putFile(tmpPath: string, options: PutFileOptions = {}): Promise<StoredArtifact> {
    const extension = checkedExtension(options.extension);
    const { sha256, size } = await sha256OfFile(tmpPath);
    const existing = await this.findPath(sha256);
    if (existing) {
      if (options.move) await rm(tmpPath, { force: true });
      return this.describe(sha256, existing, size);
    }
    const dir = this.shardDir(sha256);
    await mkdir(dir, { recursive: true });
    const staging = join(dir, `${TEMP_PREFIX}${randomUUID()}`);
    try {
      if (options.move && (await renamedAcrossDirs(tmpPath, staging))) {
        // Nobody else writes the caller's private file, so the hash taken above still names these bytes.
        return await this.commit(staging, sha256, extension, size);
      }
      await copyFile(tmpPath, staging, constants.COPYFILE_FICLONE);
      if (options.move) await rm(tmpPath, { force: true });
      // The source may have changed between hashing and copying; the stored bytes must match the name.
      const copied = await sha256OfFile(staging);
      if (copied.sha256 !== sha256) throw new ArtifactIntegrityError(sha256, copied.sha256);
      return await this.commit(staging, sha256, extension, size);
    } finally {
      await rm(staging, { force: true });
    }
  }

  async putBytes(bytes: Uint8Array, options: PutOptions = {}): Promise<StoredArtifact> {
    const extension = checkedExtension(options.extension);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const existing = await this.findPath(sha256);
    if (existing) return this.describe(sha256, existing, bytes.byteLength);
    const dir = this.shardDir(sha256);
    await mkdir(dir, { recursive: true });
    const staging = join(dir, `${TEMP_PREFIX}${randomUUID()}`);
    try {
      await writeFile(staging, bytes);
      return await this.commit(staging, sha256, extension, bytes.byteLength);
    } finally {
      await rm(staging, { force: true });
    }
  }

  async exists(sha256: string): Promise<boolean> {
    assertSha256(sha256);
    return (await this.findPath(sha256)) !== undefined;
  }

  open(sha256: string): Readable {
    assertSha256(sha256);
    const hash = createHash('sha256');
    const verifier = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        hash.update(chunk);
        callback(null, chunk);
      },
      flush(callback) {
        const actual = hash.digest('hex');
        callback(actual === sha256 ? null : new ArtifactIntegrityError(sha256, actual));
      },
    });
    this.findPath(sha256).then(
      (path) => {
        if (!path) {
          verifier.destroy(new ArtifactNotFoundError(sha256));
          return;
        }
        pipeline(createReadStream(path), verifier).catch((error: unknown) => verifier.destroy(error as Error));
      },
      (error: unknown) => verifier.destroy(error as Error),
    );
    return verifier;
  }

  async read(sha256: string): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of this.open(sha256) as AsyncIterable<Buffer>) chunks.push(chunk);
    return Buffer.concat(chunks);
  }

  async localPath(sha256: string): Promise<string> {
    assertSha256(sha256);
    const path = await this.findPath(sha256);
    if (!path) throw new ArtifactNotFoundError(sha256);
    const info = await stat(path);
    const fingerprint = `${info.size}:${info.mtimeMs}`;
    if (this.verified.get(sha256) !== fingerprint) {
      const actual = await sha256OfFile(path);
      if (actual.sha256 !== sha256) throw new ArtifactIntegrityError(sha256, actual.sha256);
      this.verified.set(sha256, fingerprint);
    }
    return path;
  }

  private shardDir(sha256: string): string {
    return join(this.root, 'sha256', sha256.slice(0, 2));
  }

  private async findPath(sha256: string): Promise<string | undefined> {
    let names: string[];
    try {
      names = await readdir(this.shardDir(sha256));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    const name = names.find((candidate) => candidate === sha256 || candidate.startsWith(`${sha256}.`));
    return name === undefined ? undefined : join(this.shardDir(sha256), name);
  }

  private async commit(staging: string, sha256: string, extension: string, size: number): Promise<StoredArtifact> {
    const handle = await open(staging, 'r+');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    const finalPath = join(this.shardDir(sha256), `${sha256}${extension}`);
    // A concurrent writer of the same bytes may win the race; rename over it is harmless (same content).
    await rename(staging, finalPath);
    await syncDirectory(this.shardDir(sha256));
    return this.describe(sha256, finalPath, size);
  }

  private describe(sha256: string, path: string, size: number): StoredArtifact {
    return { sha256, uri: pathToFileURL(path).href, size };
  }
}

function checkedExtension(extension: string | undefined): string {
  const value = extension ?? '';
  if (!EXTENSION_PATTERN.test(value)) throw new TypeError(`invalid artifact extension ${JSON.stringify(value)}`);
  return value.toLowerCase();
}

/** Renames when both paths are on one filesystem; false (nothing done) when they are not. */
async function renamedAcrossDirs(from: string, to: string): Promise<boolean> {
  try {
    await rename(from, to);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EXDEV') return false;
    throw error;
  }
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
