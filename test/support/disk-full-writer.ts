// Run inside a mount namespace whose artifact root is a tiny tmpfs (see test/artifact-store-disk-full.test.ts):
// stores artifacts larger than the disk through the real FsArtifactStore and prints what happened as JSON.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FsArtifactStore } from '../../artifacts/fs-artifact-store.js';

const [root, scratch] = process.argv.slice(2);
if (!root || !scratch) {
  console.error('usage: disk-full-writer.ts <artifact root on a small filesystem> <scratch dir elsewhere>');
  process.exit(2);
}
const store = new FsArtifactStore(root);
const outcome = async (write: () => Promise<{ sha256: string }>) =>
  write().then(
    (stored) => ({ ok: true as const, sha256: stored.sha256 }),
    (error: NodeJS.ErrnoException) => ({ ok: false as const, code: error.code ?? null, message: error.message }),
  );

const model = randomBytes(3 << 20);
const modelBytes = await outcome(() => store.putBytes(model, { extension: '.onnx' }));
const source = join(await mkdtemp(join(scratch, 'snapshot-')), 'snapshot.parquet');
await writeFile(source, randomBytes(3 << 20));
const snapshotFile = await outcome(() => store.putFile(source, { extension: '.parquet' }));
const snapshotMoved = await outcome(() => store.putFile(source, { extension: '.parquet', move: true }));
const filesAfterFailures = (await readdir(root, { recursive: true, withFileTypes: true })).filter((entry) => entry.isFile()).map((entry) => entry.name);
const small = await outcome(() => store.putBytes(randomBytes(16 << 10), { extension: '.onnx' }));
const smallReadBack = small.ok ? (await store.read(small.sha256)).length : null;
await rm(source, { force: true });
process.stdout.write(
  JSON.stringify({
    modelBytes,
    snapshotFile,
    snapshotMoved,
    filesAfterFailures,
    modelStored: await store.exists(createHash('sha256').update(model).digest('hex')),
    small,
    smallReadBack,
  }),
);

