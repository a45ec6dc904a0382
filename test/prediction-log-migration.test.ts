// Upgrading to the columnar prediction log (migration 0015) on real Postgres: predictions logged one row each by the
// old table survive, keep their ids, land in day partitions of their own, and stay pageable and feedback-able.
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { inject } from 'vitest';
import { createDb, type DbHandle } from '../db/client.js';
import { applyMigrations } from '../db/migrate.js';
import { listPartitionNames } from '../db/prediction-partitions.js';
import { writeFeedback } from '../db/repositories/feedback.js';
import { findLoggedPredictionIds, listPredictionPage } from '../db/repositories/predictions.js';
import { predictionIdAt, splitPredictionId } from '../db/prediction-ids.js';

const DAY_MS = 24 * 60 * 60 * 1000;
let adminUrl: string;
let url: string;
let name: string;
let scratch: string;
let handle: DbHandle;

/** The migrations before the columnar log (0000–0014), in a folder of their own. */
async function migrationsBefore(tag: string): Promise<string> {
  const folder = join(scratch, 'migrations');
  await cp(join(import.meta.dirname, '..', 'db', 'migrations'), folder, { recursive: true });
  const journalPath = join(folder, 'meta', '_journal.json');
  const journal = JSON.parse(await readFile(journalPath, 'utf8')) as { entries: { tag: string; idx: number }[] };
  const stop = journal.entries.findIndex((entry) => entry.tag === tag);
  journal.entries = journal.entries.slice(0, stop);
  await writeFile(journalPath, JSON.stringify(journal));
  return folder;
}

beforeAll(async () => {
  adminUrl = inject('postgresAdminUrl');
  name = `keel_test_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  url = adminUrl.replace(/\/postgres$/, `/${name}`);
  scratch = await mkdtemp(join(tmpdir(), 'keel-migration-'));
});

afterAll(async () => {
  await handle?.close();
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.end();
  await rm(scratch, { recursive: true, force: true });
});

it('when predictions were logged one row each before the upgrade, then after it they keep their ids, data, days, paging and feedback', async () => {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const old: { id: string; features: object; source: object | null; output: object; score: number; createdAt: Date }[] = [];
  let modelId: string;
  try {
    await migrate(drizzle(client), { migrationsFolder: await migrationsBefore('0015_columnar-prediction-log') });
    modelId = (await client.query<{ id: string }>(
      `INSERT INTO models (name, task, target, feature_schema) VALUES ('legacy', 'multiclass', 'y', '[]') RETURNING id`,
    )).rows[0]!.id;
    const today = new Date();
    const twoDaysAgo = new Date(today.getTime() - 2 * DAY_MS);
    await client.query(`CREATE TABLE predictions_p_old PARTITION OF predictions FOR VALUES FROM ('${new Date(Date.UTC(twoDaysAgo.getUTCFullYear(), twoDaysAgo.getUTCMonth(), twoDaysAgo.getUTCDate())).toISOString()}') TO ('${new Date(Date.UTC(twoDaysAgo.getUTCFullYear(), twoDaysAgo.getUTCMonth(), twoDaysAgo.getUTCDate()) + DAY_MS).toISOString()}')`);
    for (const [i, createdAt] of [twoDaysAgo, twoDaysAgo, today].entries()) {
      const row = {
        id: randomUUID(),
        features: { x: i + 0.5, color: i === 1 ? null : 'red', weather: 'sun "quoted"' },
        source: i === 0 ? { date: '2012-01-01', weather: 'sun' } : null,
        output: { label: 'a', probabilities: { a: 0.7, b: 0.3 } },
        score: 0.7,
        createdAt,
      };
      old.push(row);
      await client.query(
        `INSERT INTO predictions (id, model_id, model, version, source, features, output, score, latency_ms, created_at, key_id)
         VALUES ($1, $2, 'legacy', 1, $3, $4, $5, $6, 1.5, $7, NULL)`,
        [row.id, modelId, row.source === null ? null : JSON.stringify(row.source), JSON.stringify(row.features), JSON.stringify(row.output), row.score, createdAt],
      );
    }
    await client.query(`INSERT INTO feedback (prediction_id, model_id, label_class) VALUES ($1, $2, 'a')`, [old[0]!.id, modelId]);
  } finally {
    await client.end();
  }

  await applyMigrations(url);
  handle = createDb(url, { max: 2, logger: pino({ level: 'warn' }) });

  const viewed = await handle.pool.query('SELECT id, source, features, output, score, latency_ms, created_at FROM predictions ORDER BY created_at, id');
  const expected = [...old]
    .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || (a.id < b.id ? -1 : 1))
    .map((row) => ({ id: row.id, source: row.source, features: row.features, output: row.output, score: row.score, latency_ms: 1.5, created_at: row.createdAt }));
  expect(viewed.rows).toEqual(expected);

  const days = [...new Set(old.map((row) => row.createdAt.toISOString().slice(0, 10).replace(/-/g, '')))];
  expect(await listPartitionNames(handle.pool)).toEqual(expect.arrayContaining(days.map((day) => `prediction_records_p${day}`)));
  const inDefault = await handle.pool.query('SELECT count(*)::int AS n FROM prediction_records_default');
  expect(inDefault.rows[0]!.n).toBe(0);

  const page = await listPredictionPage(handle.db, { modelId: modelId!, limit: 10, order: 'asc' });
  expect(page.map((row) => row.id)).toEqual(expected.map((row) => row.id));
  expect(page[0]).toMatchObject({ features: expected[0]!.features, source: expected[0]!.source, output: expected[0]!.output });

  // Known: every old id. Unknown: another index under an old id's base.
  const { baseId, index } = splitPredictionId(old[1]!.id);
  const neighbour = predictionIdAt(baseId, (index + 1) % 0x10000);
  const known = await findLoggedPredictionIds(handle.db, modelId!, [...old.map((row) => row.id), neighbour]);
  expect([...known].sort()).toEqual(old.map((row) => row.id).sort());
  const written = await writeFeedback(handle.db, modelId!, [{ predictionId: old[1]!.id, labelClass: 'b' }], false);
  expect([...written]).toEqual([old[1]!.id]);
  const labels = await handle.pool.query('SELECT count(*)::int AS n FROM feedback');
  expect(labels.rows[0]!.n).toBe(2);
});
