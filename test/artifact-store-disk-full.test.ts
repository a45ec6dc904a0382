// The artifact store's disk full (issue 12 §2): the real FsArtifactStore writes onto a 1 MiB tmpfs, mounted in a
// private user and mount namespace (`unshare -rm`, no root needed where user namespaces are enabled), so the
// kernel itself answers ENOSPC mid-write. A write that does not fit fails clearly and leaves nothing behind.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const writerScript = fileURLToPath(new URL('./support/disk-full-writer.ts', import.meta.url));

let scratch: string;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'keel-disk-full-'));
});

afterAll(async () => {
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

/** Whether this machine lets us mount a tmpfs in a private namespace; the test says so plainly when it cannot. */
function canMountPrivateTmpfs(): boolean {
  try {
    execFileSync('unshare', ['-rm', 'sh', '-c', `mount -t tmpfs -o size=64k tmpfs ${JSON.stringify(tmpdir())}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('artifact store on a full disk', () => {
  it('when an artifact does not fit on the disk, then the write fails with ENOSPC, leaves no partial or temp file, and a small artifact still stores', () => {
    // Without user namespaces (some CI containers) the kernel cannot give us a small disk: fail loudly, not skip.
    expect(canMountPrivateTmpfs(), 'unshare -rm + mount tmpfs must work on this machine (user namespaces enabled)').toBe(true);
    const artifactRoot = join(scratch, 'artifacts');
    const script = `mkdir -p "$1" && mount -t tmpfs -o size=1m tmpfs "$1" && exec "$2" --import tsx "$3" "$1" "$4"`;
    const result = spawnSync('unshare', ['-rm', 'sh', '-c', script, 'sh', artifactRoot, process.execPath, writerScript, scratch], {
      cwd: repoRoot,
      encoding: 'utf8',
    });
    expect(result.status, result.stderr).toBe(0);
    const outcome = JSON.parse(result.stdout) as Record<string, any>;
    for (const write of ['modelBytes', 'snapshotFile', 'snapshotMoved']) {
      expect({ write, ...outcome[write] }).toMatchObject({ write, ok: false, code: 'ENOSPC' });
      expect(outcome[write].message).toContain('no space left on device');
    }
    // Neither the final name nor a staging file survives the failed writes.
    expect(outcome.filesAfterFailures).toEqual([]);
    expect(outcome.modelStored).toBe(false);
    expect(outcome.small).toMatchObject({ ok: true });
    expect(outcome.smallReadBack).toBe(16 << 10);
  });
});
