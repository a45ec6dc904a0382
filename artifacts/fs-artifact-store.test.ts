import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile, appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ArtifactIntegrityError, ArtifactNotFoundError } from './artifact-store.js';
import { FsArtifactStore } from './fs-artifact-store.js';

let root: string;
let store: FsArtifactStore;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'keel-artifacts-'));
  store = new FsArtifactStore(join(root, 'store'));
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

function sha(bytes: string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

async function allFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name));
}

describe('FsArtifactStore', () => {
  it('stores a file under its sha256 in a two-character shard with the requested extension', async () => {
    const source = join(root, 'input.parquet');
    await writeFile(source, 'hello parquet');
    const stored = await store.putFile(source, { extension: '.parquet' });
    const expected = sha('hello parquet');
    expect(stored.sha256).toBe(expected);
    expect(stored.size).toBe(13);
    const path = fileURLToPath(stored.uri);
    expect(path).toBe(join(root, 'store', 'sha256', expected.slice(0, 2), `${expected}.parquet`));
    expect(await readFile(path, 'utf8')).toBe('hello parquet');
    expect(await store.exists(expected)).toBe(true);
    expect(await store.localPath(expected)).toBe(path);
  });

  it('when the same bytes arrive twice, then one file exists and both calls return the same address', async () => {
    const first = await store.putBytes(Buffer.from('same bytes'), { extension: '.bin' });
    const source = join(root, 'copy.bin');
    await writeFile(source, 'same bytes');
    const second = await store.putFile(source, { extension: '.bin' });
    expect(second).toEqual(first);
    expect(await allFiles(join(root, 'store'))).toHaveLength(1);
  });

  it('leaves no temporary files behind after concurrent writes of the same content', async () => {
    const results = await Promise.all(
      Array.from({ length: 8 }, () => store.putBytes(Buffer.from('raced content'))),
    );
    expect(new Set(results.map((result) => result.sha256)).size).toBe(1);
    const files = await allFiles(join(root, 'store'));
    expect(files).toHaveLength(1);
    expect(files[0]).not.toContain('.tmp-');
  });

  it('reads back verified bytes through read() and open()', async () => {
    const stored = await store.putBytes(Buffer.from('payload'));
    expect((await store.read(stored.sha256)).toString()).toBe('payload');
    const chunks: Buffer[] = [];
    for await (const chunk of store.open(stored.sha256) as AsyncIterable<Buffer>) chunks.push(chunk);
    expect(Buffer.concat(chunks).toString()).toBe('payload');
  });

  it('rejects reading an artifact whose bytes were changed on disk', async () => {
    const stored = await store.putBytes(Buffer.from('original'));
    await appendFile(fileURLToPath(stored.uri), 'tampered');
    await expect(store.read(stored.sha256)).rejects.toBeInstanceOf(ArtifactIntegrityError);
    await expect(store.localPath(stored.sha256)).rejects.toBeInstanceOf(ArtifactIntegrityError);
  });

  it('reports a missing artifact as not found', async () => {
    const missing = sha('never stored');
    expect(await store.exists(missing)).toBe(false);
    await expect(store.read(missing)).rejects.toBeInstanceOf(ArtifactNotFoundError);
    await expect(store.localPath(missing)).rejects.toBeInstanceOf(ArtifactNotFoundError);
  });

  it('refuses a name that is not a sha256 digest', async () => {
    await expect(store.exists('../../etc/passwd')).rejects.toThrow(/not a sha256/);
  });
});

describe('FsArtifactStore.putFile with move', () => {
  it('takes the file over instead of copying it, leaving nothing at the old path', async () => {
    const source = join(root, 'snapshot.parquet');
    await writeFile(source, 'moved bytes');
    const stored = await store.putFile(source, { extension: '.parquet', move: true });
    expect(stored.sha256).toBe(sha('moved bytes'));
    expect(await readFile(fileURLToPath(stored.uri), 'utf8')).toBe('moved bytes');
    await expect(readFile(source)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('when the content is already stored, then the moved file is simply dropped', async () => {
    const first = await store.putBytes(Buffer.from('dup'));
    const source = join(root, 'dup.bin');
    await writeFile(source, 'dup');
    expect(await store.putFile(source, { move: true })).toEqual(first);
    await expect(readFile(source)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await allFiles(join(root, 'store'))).toHaveLength(1);
  });
});
