// The train stage as a run waits for it (load the snapshot, split, train, export ONNX, store) on flights-3m:
// a snapshot of the first 1,428,572 rows, so the default split (70% train) trains on ~1M rows, as bench/train/run.ts
// gives LightGBM. Prints trainModel's own stageTimings and the total, with CPU time and peak RSS.
//   npx tsx bench/train/stage.ts [--rows 1428572] [--trees 100]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import { FsArtifactStore } from '../../artifacts/fs-artifact-store.js';
import { trainModel } from '../../training/train-model.js';
import { FLIGHTS_PARQUET } from './load-flights.js';

const { values: args } = parseArgs({ options: { rows: { type: 'string', default: '1428572' }, trees: { type: 'string', default: '100' } } });
const scratch = mkdtempSync(join(tmpdir(), 'keel-bench-stage-'));
try {
  const snapshotFile = join(scratch, 'snapshot.parquet');
  const instance = await DuckDBInstance.create();
  const connection = await instance.connect();
  await connection.run(`
    COPY (SELECT distance::DOUBLE AS distance, origin, destination, hour(date)::DOUBLE AS hour,
                 isodow(date)::DOUBLE AS day_of_week, delay > 15 AS delayed
          FROM read_parquet('${FLIGHTS_PARQUET}', file_row_number = true)
          WHERE file_row_number < ${Number(args.rows)} ORDER BY file_row_number)
    TO '${snapshotFile}' (FORMAT parquet)`);
  connection.closeSync();
  instance.closeSync();
  const artifacts = new FsArtifactStore(join(scratch, 'artifacts'));
  const snapshot = await artifacts.putFile(snapshotFile);

  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const result = await trainModel(
    { artifacts, checkpointDir: join(scratch, 'checkpoints'), keelVersion: 'bench' },
    {
      runId: 'bench-stage',
      model: 'bench-stage',
      snapshotSha256: snapshot.sha256,
      target: 'delayed',
      task: 'binary',
      features: ['distance', 'hour', 'day_of_week', 'origin', 'destination'],
      trainer: { kind: 'gbdt', params: { numIterations: Number(args.trees), numLeaves: 255, learningRate: 0.1, earlyStoppingRounds: 0 } },
      seed: 1,
      split: { spec: { kind: 'hash' }, salt: 'bench-stage' },
    },
  );
  const wall = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const s = (ms: number): string => (ms / 1000).toFixed(1);
  const t = result.stageTimings!;
  console.log(`train stage on ${args.rows} snapshot rows: ${result.trainRows} train / ${result.validRows} valid / ${result.holdoutRows} holdout`);
  console.log('| load s | split s | train s | metrics s | export s | store s | stage wall s | stage CPU s | peak RSS MB | valid AUC |');
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  console.log(
    `| ${s(t.loadMs)} | ${s(t.splitMs)} | ${s(t.trainMs)} | ${s(t.metricsMs)} | ${s(t.exportMs)} | ${s(t.storeMs)} | ${wall.toFixed(1)} | ${((cpu.user + cpu.system) / 1e6).toFixed(1)} | ` +
      `${(process.resourceUsage().maxRSS / 1024).toFixed(0)} | ${(result.metrics.validAuc ?? NaN).toFixed(4)} |`,
  );
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
