// A throwaway data root, artifact store and scratch directory for data-plane tests.
import { cp, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FsArtifactStore } from '../artifacts/fs-artifact-store.js';
import type { DataPlaneSettings } from '../data/dataset-source.js';

export const FIXTURES = fileURLToPath(new URL('./fixtures/datasets/', import.meta.url));

export interface DataSandbox {
  root: string;
  dataRoot: string;
  artifactRoot: string;
  artifacts: FsArtifactStore;
  settings: DataPlaneSettings;
  /** Every file under the artifact store and the scratch dir, relative to the sandbox root. */
  files(): Promise<string[]>;
  cleanup(): Promise<void>;
}

export async function createDataSandbox(overrides: Partial<DataPlaneSettings> = {}): Promise<DataSandbox> {
  const root = await mkdtemp(join(tmpdir(), 'keel-data-'));
  const dataRoot = join(root, 'datasets');
  const artifactRoot = join(root, 'artifacts');
  const workDir = join(root, 'work');
  await mkdir(dataRoot);
  await cp(FIXTURES, dataRoot, { recursive: true });
  const settings: DataPlaneSettings = {
    dataRoots: [dataRoot],
    workDir,
    sqlConnections: {},
    duckdbThreads: 2,
    ...overrides,
  };
  return {
    root,
    dataRoot,
    artifactRoot,
    artifacts: new FsArtifactStore(artifactRoot),
    settings,
    async files() {
      const found: string[] = [];
      for (const dir of [artifactRoot, workDir]) {
        const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
        for (const entry of entries) {
          if (entry.isFile()) found.push(relative(root, join(entry.parentPath, entry.name)));
        }
      }
      return found.sort();
    },
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}
