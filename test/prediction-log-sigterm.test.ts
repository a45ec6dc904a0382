// The real thing: the API as its own process (api/main.ts) under HTTP load receives SIGTERM; every prediction
// it answered must be in the log once it has exited.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { FsArtifactStore } from '../artifacts/fs-artifact-store.js';
import { freePort } from '../dev/temporal-dev-server.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { registerFixtureVersion, setProduction } from './support/model-fixtures.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const ADMIN_KEY = 'sigterm-test-admin-key-0123456789';
let database: TestDatabase;
let scratch: string;
let api: ChildProcess | undefined;

beforeAll(async () => {
  database = await createTestDatabase();
  scratch = await mkdtemp(join(tmpdir(), 'keel-sigterm-'));
  const artifacts = new FsArtifactStore(join(scratch, 'artifacts'));
  const version = await registerFixtureVersion(database.db, artifacts, { model: 'sigterm', runId: 'sigterm-1' });
  await setProduction(database.db, version, 'sigterm');
});

afterAll(async () => {
  if (api && api.exitCode === null) api.kill('SIGKILL');
  await database?.close();
  await rm(scratch, { recursive: true, force: true });
});

async function waitUntilHealthy(url: string, exited: Promise<unknown>): Promise<void> {
  let done = false;
  void exited.then(() => (done = true));
  while (!done) {
    const ok = await fetch(`${url}/healthz`).then((r) => r.ok, () => false);
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('the API process exited before it listened');
}

it('when the API process gets SIGTERM mid-load, then every prediction it answered is in the log', async () => {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const output: string[] = [];
  api = spawn(process.execPath, ['--import', 'tsx', 'api/main.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      DATABASE_URL: database.url,
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      HOST: '127.0.0.1',
      PORT: String(port),
      KEEL_ADMIN_KEY: ADMIN_KEY,
      KEEL_DATA_DIR: scratch,
      KEEL_ARTIFACT_DIR: join(scratch, 'artifacts'),
      KEEL_PREDICTION_FLUSH_MS: '100',
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  api.stdout!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  api.stderr!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  const exited = new Promise<number | null>((resolve) => api!.once('exit', (code) => resolve(code)));
  await waitUntilHealthy(url, exited);

  const answered: string[] = [];
  const statuses = new Map<string, number>();
  let sent = 0;
  let terminated = false;
  const worker = async () => {
    // Keep sending until the process is gone: requests after SIGTERM are refused or fail to connect.
    while (sent < 5000) {
      sent += 1;
      const rows = Array.from({ length: 1 + (sent % 3) }, (_, i) => ({ x: i + sent / 100, color: 'red' }));
      const outcome = await fetch(`${url}/v1/models/sigterm/predict`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ features: rows }),
      }).then(
        async (response) => ({
          status: String(response.status),
          body: response.ok ? ((await response.json()) as { predictions: { id: string }[] }) : undefined,
        }),
        () => ({ status: 'connection failed', body: undefined }),
      );
      statuses.set(outcome.status, (statuses.get(outcome.status) ?? 0) + 1);
      if (outcome.status === '200') answered.push(...outcome.body!.predictions.map((p) => p.id));
      if (answered.length >= 300 && !terminated) {
        terminated = true;
        api!.kill('SIGTERM');
      }
      if (outcome.status === 'connection failed' && terminated) return;
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  const code = await exited;

  expect(terminated).toBe(true);
  expect(code, output.join('')).toBe(0);
  const logged = await database.pool.query<{ id: string }>("SELECT id FROM predictions WHERE model = 'sigterm' ORDER BY id");
  expect(logged.rows.map((row) => row.id)).toEqual([...answered].sort());
  expect(answered.length).toBeGreaterThanOrEqual(300);
}, 180_000);
