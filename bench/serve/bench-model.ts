// The served model for bench/serve: a GBDT trained here on the shipped Seattle weather data, registered and deployed.
import { DuckDBInstance } from '@duckdb/node-api';
import { sql } from 'drizzle-orm';
import type { ArtifactStore } from '../../artifacts/artifact-store.js';
import type { Db } from '../../db/client.js';
import { moveAlias, notifyModelChanged, PRODUCTION_ALIAS } from '../../db/repositories/model-aliases.js';
import { registerModelVersion, setModelVersionStatus } from '../../db/repositories/model-versions.js';
import { getOrCreateModel } from '../../db/repositories/models.js';
import { DEMO_DATASET } from '../../dev/bootstrap.js';
import type { ColumnarDataset } from '../../ml/dataset.js';
import { trainGbdt } from '../../ml/gbdt/index.js';
import { exportModelToOnnx, readOnnxMetadata } from '../../ml/onnx/index.js';

export type FeatureRow = Record<string, number | string | null>;

export interface BenchModel {
  name: string;
  onnx: Uint8Array;
  /** Every row of the dataset as a feature row, in date order (what a client would send). */
  rows: FeatureRow[];
}

/** Will it rain? Four numeric features and one categorical (`weather`), 60 trees of 15 leaves as in the demo. */
export async function trainBenchModel(): Promise<Omit<BenchModel, 'name'>> {
  const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
  const connection = await instance.connect();
  const reader = await connection.runAndReadAll(`
    SELECT month("date")::DOUBLE AS month, temp_max::DOUBLE, temp_min::DOUBLE, wind::DOUBLE, weather,
           CASE WHEN precipitation > 0 THEN 1 ELSE 0 END::DOUBLE AS rained
    FROM read_csv('${DEMO_DATASET}', header = true) ORDER BY "date"`);
  const names = ['month', 'temp_max', 'temp_min', 'wind', 'weather'] as const;
  const columns = reader.getColumns();
  connection.closeSync();
  instance.closeSync();
  const numeric = (values: unknown[]) => Float64Array.from(values, (v) => (v === null ? Number.NaN : Number(v)));
  const data: ColumnarDataset = {
    rowCount: reader.currentRowCount,
    columns: {
      month: numeric(columns[0]),
      temp_max: numeric(columns[1]),
      temp_min: numeric(columns[2]),
      wind: numeric(columns[3]),
      weather: columns[4].map((v) => (v === null ? null : String(v))),
    },
    label: numeric(columns[5]),
  };
  const result = await trainGbdt(data, { task: 'binary', numIterations: 60, numLeaves: 15, learningRate: 0.1, seed: 1 });
  const onnx = exportModelToOnnx(result.model, { snapshotSha256: 'b'.repeat(64), keelVersion: 'bench' });
  const rows: FeatureRow[] = [];
  for (let r = 0; r < data.rowCount; r++) {
    const row: FeatureRow = {};
    for (const name of names) {
      const column = data.columns[name];
      row[name] = column instanceof Float64Array ? column[r] : column[r];
    }
    rows.push(row);
  }
  return { onnx, rows };
}

/** Stores the artifact, registers version 1 and points production at it (as a deploy does). */
export async function deployBenchModel(db: Db, artifacts: ArtifactStore, name: string, onnx: Uint8Array): Promise<void> {
  const stored = await artifacts.putBytes(onnx, { extension: '.onnx' });
  const { features } = readOnnxMetadata(onnx);
  const model = await getOrCreateModel(db, { name, task: 'binary', target: 'rained', featureSchema: features });
  // A version names the run that produced it (a foreign key): a stand-in run row, as the API would have written.
  await db.execute(
    sql`INSERT INTO runs (id, workflow_id, model, spec, spec_hash, requested_by_name)
        VALUES ('bench-serve', 'bench-serve', ${name}, '{}', 'bench', 'bench') ON CONFLICT DO NOTHING`,
  );
  const { version } = await registerModelVersion(db, {
    modelId: model.id,
    runId: 'bench-serve',
    artifactUri: stored.uri,
    artifactSha256: stored.sha256,
    trainer: 'gbdt',
    metrics: {},
    params: {},
    featureSchema: features,
    snapshotSha256: 'b'.repeat(64),
    parentVersion: null,
    evaluationReportId: null,
  });
  await setModelVersionStatus(db, model.id, version.version, 'approved');
  await db.transaction(async (tx) => {
    await moveAlias(tx, {
      modelId: model.id,
      alias: PRODUCTION_ALIAS,
      toVersion: version.version,
      action: 'deploy',
      actor: 'bench',
      reason: null,
      runId: 'bench-serve',
    });
    await notifyModelChanged(tx, name);
  });
  await setModelVersionStatus(db, model.id, version.version, 'deployed');
}
