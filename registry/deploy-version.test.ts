import pino from 'pino';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsArtifactStore } from '../artifacts/fs-artifact-store.js';
import { saveEvaluationReport } from '../db/repositories/evaluation-reports.js';
import { getAliasVersion, listDeployments, moveAlias, PRODUCTION_ALIAS } from '../db/repositories/model-aliases.js';
import { getModelVersion } from '../db/repositories/model-versions.js';
import { getModelByName } from '../db/repositories/models.js';
import { rollbackModel } from '../db/repositories/rollback.js';
import { modelVersions, type ModelVersionRow } from '../db/schema.js';
import { KeelError } from '../errors/keel-error.js';
import { toApplicationFailure } from '../errors/to-application-failure.js';
import { createModelCache, type ModelCache } from '../serving/model-cache.js';
import { createTestDatabase, type TestDatabase } from '../test/support/database.js';
import { filesUnder } from '../test/support/files-under.js';
import { registerFixtureVersion } from '../test/support/model-fixtures.js';
import type { ProductionChange } from '../workflows/monitor-messages.js';
import { deployVersion, type DeployDeps } from './deploy-version.js';
import { checkSmokePrediction, typicalRow } from './smoke-test.js';

let database: TestDatabase;
let artifactDir: string;
let cache: ModelCache;
let deps: DeployDeps;
let artifacts: FsArtifactStore;
const warnings: string[] = [];
/** Per smoke-tested version: the production version at the moment the candidate was loaded. */
const productionAtSmoke: { version: number; production: number | null }[] = [];
const ops = { actor: 'olga', actorKeyId: null, role: 'ops' };

beforeAll(async () => {
  database = await createTestDatabase();
  artifactDir = await mkdtemp(join(tmpdir(), 'keel-deploy-'));
  artifacts = new FsArtifactStore(artifactDir);
  cache = createModelCache({ db: database.db, pool: database.pool, artifacts, logger: pino({ name: 'deploy-test', level: 'error' }) });
  // The real cache, watched: every candidate load notes where production was at that moment.
  const watchedCache: ModelCache = {
    ...cache,
    async withVersion(model, version, use) {
      const row = await getModelByName(database.db, model);
      productionAtSmoke.push({ version, production: row ? await getAliasVersion(database.db, row.id, PRODUCTION_ALIAS) : null });
      return cache.withVersion(model, version, use);
    },
  };
  deps = { db: database.db, modelCache: watchedCache, logger: { warn: (_fields, message) => warnings.push(message) } };
  await registerFixtureVersion(database.db, artifacts, { model: 'deploy-domain', runId: 'dd-1' });
});
afterAll(async () => {
  await cache?.close();
  await database?.close();
  await rm(artifactDir, { recursive: true, force: true });
});

/** Stores the version's evaluation report, which scored `champion` as production. */
async function evaluatedAgainst(version: ModelVersionRow, model: string, champion: number | null): Promise<void> {
  const { report } = await saveEvaluationReport(database.db, {
    runId: version.runId,
    model,
    candidateSha256: version.artifactSha256,
    championVersion: champion,
    gatesPassed: true,
    report: { champion: champion === null ? null : { version: champion } },
  });
  await database.db.update(modelVersions).set({ evaluationReportId: report.id }).where(eq(modelVersions.id, version.id));
}

const deployInput = (model: string, runId: string, version: number) => ({ runId, model, version, actor: 'rita', reason: `run ${runId} approved` });

async function productionOf(model: string): Promise<number | null> {
  const row = await getModelByName(database.db, model);
  return getAliasVersion(database.db, row!.id, PRODUCTION_ALIAS);
}

async function historyOf(model: string) {
  const row = await getModelByName(database.db, model);
  return listDeployments(database.db, row!.id);
}

async function statusOf(model: string, version: number) {
  const row = await getModelByName(database.db, model);
  return (await getModelVersion(database.db, row!.id, version))?.status;
}

describe('deployVersion', () => {
  it('when the version is approved, then it is smoke-tested first, then production moves to it', async () => {
    const result = await deployVersion(deps, deployInput('deploy-domain', 'dd-1', 1));
    expect(result.previousVersion).toBeNull();
    expect(result.smoke.prediction).toMatchObject({ probability: expect.any(Number) });
    // The candidate was loaded and predicted while the model had no production version yet.
    expect(productionAtSmoke).toContainEqual({ version: 1, production: null });
    expect(await productionOf('deploy-domain')).toBe(1);
    expect(await historyOf('deploy-domain')).toHaveLength(1);
  });

  it('when the version does not exist, then it throws INVALID_SPEC without Temporal', async () => {
    const error = await deployVersion(deps, deployInput('deploy-domain', 'dd-9', 9)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KeelError);
    expect(error).toMatchObject({ code: 'INVALID_SPEC', message: 'model "deploy-domain" has no version 9' });
  });
});

describe('a late approval', () => {
  it('when production moved since the evaluation, then the deploy is refused for good and production stays', async () => {
    const v1 = await registerFixtureVersion(database.db, artifacts, { model: 'late', runId: 'late-1' });
    await deployVersion(deps, deployInput('late', 'late-1', v1.version));
    // Runs A and B are both evaluated against v1; B is approved first.
    const a = await registerFixtureVersion(database.db, artifacts, { model: 'late', runId: 'late-a', shift: 0.1 });
    const b = await registerFixtureVersion(database.db, artifacts, { model: 'late', runId: 'late-b', shift: 0.2 });
    await evaluatedAgainst(a, 'late', 1);
    await evaluatedAgainst(b, 'late', 1);
    expect((await deployVersion(deps, deployInput('late', 'late-b', b.version))).previousVersion).toBe(1);
    expect(productionAtSmoke).toContainEqual({ version: b.version, production: 1 });
    const history = await historyOf('late');

    const refused = await deployVersion(deps, deployInput('late', 'late-a', a.version)).catch((e: unknown) => e);
    expect(refused).toMatchObject({
      code: 'PRODUCTION_MOVED',
      message:
        'production moved from v1 to v3 since this run was evaluated; version 2 of "late" was compared with v1, never with v3, ' +
        'so it is not deployed: start a new run to evaluate a candidate against the current production',
      details: { expectedVersion: 1, actualVersion: 3, toVersion: 2 },
    });
    expect(toApplicationFailure(refused)).toMatchObject({ type: 'PRODUCTION_MOVED', nonRetryable: true });
    expect(await productionOf('late')).toBe(3);
    expect(await historyOf('late')).toEqual(history);
    // Never loaded: a candidate that will not be deployed is not smoke-tested either.
    expect(productionAtSmoke.filter((smoke) => smoke.version === a.version && smoke.production === 3)).toEqual([]);
    expect(await statusOf('late', a.version)).toBe('approved');
    expect(await statusOf('late', b.version)).toBe('deployed');
  });

  it('when two candidates compared with the same production deploy at once, then exactly one moves production', async () => {
    const v1 = await registerFixtureVersion(database.db, artifacts, { model: 'race', runId: 'race-1' });
    await deployVersion(deps, deployInput('race', 'race-1', v1.version));
    const candidates = [
      await registerFixtureVersion(database.db, artifacts, { model: 'race', runId: 'race-a', shift: 0.7 }),
      await registerFixtureVersion(database.db, artifacts, { model: 'race', runId: 'race-b', shift: 0.8 }),
    ];
    for (const candidate of candidates) await evaluatedAgainst(candidate, 'race', 1);
    const outcomes = await Promise.allSettled(candidates.map((c) => deployVersion(deps, deployInput('race', c.runId, c.version))));
    const deployed = candidates.filter((_, i) => outcomes[i]!.status === 'fulfilled');
    const refused = outcomes.filter((outcome) => outcome.status === 'rejected').map((outcome) => (outcome as PromiseRejectedResult).reason);
    expect(deployed).toHaveLength(1);
    expect(refused).toEqual([expect.objectContaining({ code: 'PRODUCTION_MOVED', details: expect.objectContaining({ expectedVersion: 1, actualVersion: deployed[0]!.version }) })]);
    expect(await productionOf('race')).toBe(deployed[0]!.version);
    expect((await historyOf('race')).map((row) => [row.fromVersion, row.toVersion])).toEqual([
      [1, deployed[0]!.version],
      [null, 1],
    ]);
  });

  it('when production is where the evaluation saw it, then a version evaluated without a champion still deploys', async () => {
    const first = await registerFixtureVersion(database.db, artifacts, { model: 'late-none', runId: 'late-none-1' });
    await evaluatedAgainst(first, 'late-none', null);
    expect((await deployVersion(deps, deployInput('late-none', 'late-none-1', 1))).previousVersion).toBeNull();
    // A second candidate evaluated when there was no production yet: v1 was deployed after, so it is refused.
    const second = await registerFixtureVersion(database.db, artifacts, { model: 'late-none', runId: 'late-none-2' });
    await evaluatedAgainst(second, 'late-none', null);
    // Its report was stored before v1 went to production.
    await database.db.execute(sql`UPDATE evaluation_reports SET created_at = now() - interval '1 hour' WHERE run_id = 'late-none-2'`);
    const refused = await deployVersion(deps, deployInput('late-none', 'late-none-2', 2)).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'PRODUCTION_MOVED', message: expect.stringMatching(/^production moved from no version to v1 since this run was evaluated; /) });
  });
});

describe('smoke test before traffic', () => {
  it('when the candidate does not load, then nothing switched and the version is deploy_failed', async () => {
    const v1 = await registerFixtureVersion(database.db, artifacts, { model: 'smoke', runId: 'smoke-1' });
    await deployVersion(deps, deployInput('smoke', 'smoke-1', v1.version));
    const changes: ProductionChange[] = [];
    const notifying: DeployDeps = { ...deps, notifyProductionChange: async (change) => void changes.push(change) };
    await registerFixtureVersion(database.db, artifacts, { model: 'smoke', runId: 'smoke-2', bytes: new Uint8Array([1, 2, 3]) });
    const history = await historyOf('smoke');
    for (let attempt = 0; attempt < 2; attempt++) {
      const error = await deployVersion(notifying, deployInput('smoke', 'smoke-2', 2)).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'SMOKE_TEST_FAILED', message: expect.stringMatching(/; nothing switched: production is on version 1$/) });
    }
    expect(await productionOf('smoke')).toBe(1);
    expect(await historyOf('smoke')).toEqual(history);
    expect(await statusOf('smoke', 2)).toBe('deploy_failed');
    // Production never moved, so the monitor has nothing to follow.
    expect(changes).toEqual([]);
  });

  it('when a byte of the stored ONNX file flipped, then the candidate is refused before load and production stays', async () => {
    const v1 = await registerFixtureVersion(database.db, artifacts, { model: 'flipped', runId: 'flipped-1' });
    await deployVersion(deps, deployInput('flipped', 'flipped-1', v1.version));
    const v2 = await registerFixtureVersion(database.db, artifacts, { model: 'flipped', runId: 'flipped-2', shift: 0.3 });
    const [stored] = (await filesUnder(artifactDir)).filter((path) => path.includes(v2.artifactSha256));
    const bytes = await readFile(stored!);
    bytes[Math.floor(bytes.length / 2)]! ^= 0x01;
    await writeFile(stored!, bytes);

    const error = await deployVersion(deps, deployInput('flipped', 'flipped-2', 2)).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'SMOKE_TEST_FAILED' });
    // The bytes are hashed against the registered sha256 before onnxruntime sees them.
    expect((error as Error).message).toContain(`artifact ${v2.artifactSha256} is corrupt: its bytes hash to`);
    expect((error as Error).message).toMatch(/nothing switched: production is on version 1$/);
    expect(await productionOf('flipped')).toBe(1);
    expect(await statusOf('flipped', 2)).toBe('deploy_failed');
  });
});

describe('a smoke revert of an earlier attempt that already switched', () => {
  /** Production moved to the version by its run, as a worker from before smoke-before-switch did before crashing. */
  async function switchedByEarlierAttempt(version: ModelVersionRow): Promise<void> {
    await database.db.transaction((tx) =>
      moveAlias(tx, { modelId: version.modelId, alias: PRODUCTION_ALIAS, toVersion: version.version, action: 'deploy', actor: 'rita', reason: null, runId: version.runId }),
    );
  }

  it('when production is still the candidate, then it goes back to the previous version and the monitor is told', async () => {
    const v1 = await registerFixtureVersion(database.db, artifacts, { model: 'revert', runId: 'revert-1' });
    await deployVersion(deps, deployInput('revert', 'revert-1', v1.version));
    const broken = await registerFixtureVersion(database.db, artifacts, { model: 'revert', runId: 'revert-2', bytes: new Uint8Array([9]) });
    await switchedByEarlierAttempt(broken);
    const changes: ProductionChange[] = [];
    const notifying: DeployDeps = { ...deps, notifyProductionChange: async (change) => void changes.push(change) };
    const error = await deployVersion(notifying, deployInput('revert', 'revert-2', 2)).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'SMOKE_TEST_FAILED', message: expect.stringMatching(/production is back on version 1$/) });
    expect(await productionOf('revert')).toBe(1);
    expect((await historyOf('revert'))[0]).toMatchObject({ action: 'revert', fromVersion: 2, toVersion: 1 });
    expect(changes).toEqual([{ model: 'revert', version: 1, action: 'revert', runId: 'revert-2', actor: 'pipeline' }]);
  });

  it('when production moved off the candidate during its smoke test, then the revert does not overwrite it', async () => {
    const v1 = await registerFixtureVersion(database.db, artifacts, { model: 'revert-cas', runId: 'revert-cas-1' });
    await deployVersion(deps, deployInput('revert-cas', 'revert-cas-1', v1.version));
    const v2 = await registerFixtureVersion(database.db, artifacts, { model: 'revert-cas', runId: 'revert-cas-2', shift: 0.4 });
    await deployVersion(deps, deployInput('revert-cas', 'revert-cas-2', v2.version));
    const broken = await registerFixtureVersion(database.db, artifacts, { model: 'revert-cas', runId: 'revert-cas-3', bytes: new Uint8Array([7]) });
    await switchedByEarlierAttempt(broken);
    // Ops roll back to v1 while the candidate's smoke test runs.
    const racing: DeployDeps = {
      ...deps,
      modelCache: {
        ...deps.modelCache,
        async withVersion(model, version, use) {
          await rollbackModel(database.db, { model, version: 1, actor: ops, reason: 'v3 looks wrong' });
          return deps.modelCache.withVersion(model, version, use);
        },
      },
    };
    const error = await deployVersion(racing, deployInput('revert-cas', 'revert-cas-3', 3)).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'SMOKE_TEST_FAILED',
      message: expect.stringMatching(/production had moved on meanwhile and was not reverted: production is on version 1$/),
    });
    expect(await productionOf('revert-cas')).toBe(1);
    expect((await historyOf('revert-cas')).map((row) => row.action)).toEqual(['rollback', 'deploy', 'deploy', 'deploy']);
    expect(await statusOf('revert-cas', 3)).toBe('deploy_failed');
  });
});

describe('rollback as a compare-and-set', () => {
  it('when production is not the version the operator saw, then the rollback is refused and nothing changes', async () => {
    const v1 = await registerFixtureVersion(database.db, artifacts, { model: 'rollback-cas', runId: 'rollback-cas-1' });
    await deployVersion(deps, deployInput('rollback-cas', 'rollback-cas-1', v1.version));
    const v2 = await registerFixtureVersion(database.db, artifacts, { model: 'rollback-cas', runId: 'rollback-cas-2', shift: 0.5 });
    await deployVersion(deps, deployInput('rollback-cas', 'rollback-cas-2', v2.version));
    await registerFixtureVersion(database.db, artifacts, { model: 'rollback-cas', runId: 'rollback-cas-3', shift: 0.6 });
    await deployVersion(deps, deployInput('rollback-cas', 'rollback-cas-3', 3));
    const history = await historyOf('rollback-cas');
    // The operator saw v2 in production and wants v1 back; v3 went out meanwhile.
    const refused = rollbackModel(database.db, { model: 'rollback-cas', version: 1, actor: ops, reason: 'v2 misbehaves', expectedProduction: 2 });
    await expect(refused).rejects.toMatchObject({
      code: 'PRODUCTION_MOVED',
      message: 'production moved from v2 to v3; rollback to v1 refused: look at production again and decide',
    });
    expect(await productionOf('rollback-cas')).toBe(3);
    expect(await historyOf('rollback-cas')).toEqual(history);
    const done = await rollbackModel(database.db, { model: 'rollback-cas', version: 1, actor: ops, reason: 'v3 misbehaves', expectedProduction: 3 });
    expect(done).toMatchObject({ version: 1, previousVersion: 3 });
  });
});

describe('smoke prediction checks', () => {
  it('when the evaluation kept no row, then the smoke row is 0 for numbers and the first category', () => {
    expect(
      typicalRow([
        { name: 'x', kind: 'numeric' },
        { name: 'color', kind: 'categorical', categories: ['red', 'blue'] },
      ] as never),
    ).toEqual({ x: 0, color: 'red' });
  });

  it('refuses a probability outside [0, 1] and a non-finite value', () => {
    expect(() => checkSmokePrediction({ predictions: [{ probability: 1.5 }] } as never)).toThrow(/not in \[0, 1\]/);
    expect(() => checkSmokePrediction({ predictions: [{ value: Number.NaN }] } as never)).toThrow(/not a finite number/);
    expect(() => checkSmokePrediction({ predictions: [] } as never)).toThrow(/no prediction/);
  });
});
