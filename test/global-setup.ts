// One Temporal dev server and one embedded Postgres for the whole test run.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres, type RunningPostgres } from '../dev/embedded-postgres.js';
import { freePort, startTemporalDevServer, type RunningDevServer } from '../dev/temporal-dev-server.js';
import { describeTemporalCli, findTemporalCli } from '../dev/temporal-cli.js';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    databaseUrl: string;
    postgresAdminUrl: string;
  }
}

let temporal: RunningDevServer | undefined;
let postgres: RunningPostgres | undefined;
let scratchDir: string | undefined;

export async function setup(project: TestProject): Promise<void> {
  scratchDir = await fs.mkdtemp(path.join(os.tmpdir(), 'keel-test-'));
  // Embedded Postgres runs as the postgres user when we are root: it must be able to reach its data dir.
  await fs.chmod(scratchDir, 0o755);
  const cli = await findTemporalCli();
  console.log(`[test stack] Temporal CLI: ${describeTemporalCli(cli)}`);
  const [temporalResult, postgresResult] = await Promise.allSettled([
    (async () => startTemporalDevServer({ cli, port: await freePort() }))(),
    (async () =>
      startEmbeddedPostgres({ dataDir: path.join(scratchDir!, 'pg'), port: await freePort(), persistent: false }))(),
  ]);
  if (temporalResult.status === 'fulfilled') temporal = temporalResult.value;
  if (postgresResult.status === 'fulfilled') postgres = postgresResult.value;
  if (temporalResult.status === 'rejected' || postgresResult.status === 'rejected') {
    // Vitest skips teardown when setup throws: stop whatever did start, so no server outlives the run.
    await teardown();
    throw temporalResult.status === 'rejected' ? temporalResult.reason : (postgresResult as PromiseRejectedResult).reason;
  }
  project.provide('temporalAddress', temporal!.address);
  project.provide('databaseUrl', postgres!.url);
  project.provide('postgresAdminUrl', postgres!.urlFor('postgres'));
  console.log(`[test stack] Temporal ${temporal!.address}, Postgres ${postgres!.url}`);
}

export async function teardown(): Promise<void> {
  await Promise.allSettled([temporal?.stop(), postgres?.stop()]);
  if (scratchDir) await fs.rm(scratchDir, { recursive: true, force: true });
}
