// The train stage as a run waits for it (load the snapshot, split, train, export ONNX, store) on flights-3m:
// a snapshot of the first 1,428,572 rows, so the default split (70% train) trains on ~1M rows, as bench/train/run.ts
// gives LightGBM. Each round runs the stage in a fresh process (its own peak RSS), then LightGBM's Dataset + fit on
// the same training rows (bench/.venv), alternating, and prints trainModel's stageTimings, CPU time and peak RSS.
// With --baseline <dir> (another checkout of Keel, e.g. `git archive <commit> | tar -x -C <dir>` with node_modules
// linked), each round also runs that checkout's stage on the same snapshot: an A/B under the same load.
// --cpu-parts reports the parts in CPU time (the stage's clock reads the process's CPU time): comparable under load.
//   npx tsx bench/train/stage.ts [--rows 1428572] [--trees 100] [--rounds 2] [--no-python] [--baseline <dir>] [--cpu-parts]
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import { FsArtifactStore } from '../../artifacts/fs-artifact-store.js';
import { assignSplit } from '../../data/split-assignment.js';
import { trainModel } from '../../training/train-model.js';
import type { TrainModelInput, TrainStageTimings } from '../../workflows/contracts/pipeline-activities.js';
import { FLIGHTS_PARQUET } from './load-flights.js';

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: '1428572' },
    trees: { type: 'string', default: '100' },
    rounds: { type: 'string', default: '2' },
    'no-python': { type: 'boolean', default: false },
    baseline: { type: 'string' },
    child: { type: 'string' },
    'cpu-parts': { type: 'boolean', default: false },
  },
});
const TREES = Number(args.trees);
const LEAVES = 255;
const LEARNING_RATE = 0.1;
const FEATURES = ['distance', 'hour', 'day_of_week', 'origin', 'destination'];
const SPLIT = { spec: { kind: 'hash' as const }, salt: 'bench-stage' };

interface StageRound {
  trainRows: number;
  validRows: number;
  holdoutRows: number;
  timings: TrainStageTimings;
  wallSeconds: number;
  cpuSeconds: number;
  peakRssMb: number;
  validAuc: number;
}

interface LightgbmRound {
  library: string;
  rows: number;
  cpu_seconds: number;
  wall_seconds: number;
  peak_rss_mb: number;
}

if (args.child !== undefined) {
  // One stage in this process: its CPU time (DuckDB's threads included) and its peak RSS are the stage's own.
  const scratch = args.child;
  const artifacts = new FsArtifactStore(join(scratch, 'artifacts'));
  const snapshot = await artifacts.putFile(join(scratch, 'snapshot.parquet'));
  const input: TrainModelInput = {
    runId: 'bench-stage',
    model: 'bench-stage',
    snapshotSha256: snapshot.sha256,
    target: 'delayed',
    task: 'binary',
    features: FEATURES,
    trainer: { kind: 'gbdt', params: { numIterations: TREES, numLeaves: LEAVES, learningRate: LEARNING_RATE, earlyStoppingRounds: 0 } },
    seed: 1,
    split: SPLIT,
  };
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  // --cpu-parts: the stage's clock reads the process's CPU time, so its parts are CPU ms (comparable under load).
  const cpuClock = () => {
    const used = process.cpuUsage();
    return (used.user + used.system) / 1000;
  };
  const clock = args['cpu-parts'] ? cpuClock : Date.now;
  const result = await trainModel({ artifacts, checkpointDir: join(scratch, 'checkpoints'), keelVersion: 'bench', clock }, input);
  const wallSeconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const round: StageRound = {
    trainRows: result.trainRows,
    validRows: result.validRows,
    holdoutRows: result.holdoutRows,
    timings: result.stageTimings!,
    wallSeconds,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
    validAuc: result.metrics.validAuc ?? Number.NaN,
  };
  console.log(JSON.stringify(round));
  process.exit(0);
}

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
  // LightGBM gets the rows the stage trains on: the same split, one byte per snapshot row.
  const codesFile = join(scratch, 'split-codes.bin');
  writeFileSync(codesFile, (await assignSplit(snapshotFile, SPLIT, { target: 'delayed', features: FEATURES })).codes);
  const python = pythonWithLightgbm();

  const stages: StageRound[] = [];
  const baselines: StageRound[] = [];
  const lightgbm: LightgbmRound[] = [];
  const s = (ms: number): string => (ms / 1000).toFixed(1);
  console.log(`train stage, ${TREES} trees, ${LEAVES} leaves, lr ${LEARNING_RATE}; load average at start ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  if (args['cpu-parts']) console.log('parts (load … store) in CPU seconds of the stage process (--cpu-parts), not wall');
  console.log('| round | who | load s | split s | train s | metrics s | export s | store s | wall s | CPU s | peak RSS MB | load avg (1 min) |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (let round = 1; round <= Number(args.rounds); round++) {
    const stageArgs = ['--import', 'tsx', 'bench/train/stage.ts', '--child', scratch, '--trees', String(TREES), ...(args['cpu-parts'] ? ['--cpu-parts'] : [])];
    const printStage = (who: string, stage: StageRound) => {
      const t = stage.timings;
      console.log(
        `| ${round} | ${who} (${stage.trainRows} train rows, valid AUC ${stage.validAuc.toFixed(4)}) | ${s(t.loadMs)} | ${s(t.splitMs)} | ${s(t.trainMs)} | ${s(t.metricsMs)} | ${s(t.exportMs)} | ${s(t.storeMs)} | ` +
          `${stage.wallSeconds.toFixed(1)} | ${stage.cpuSeconds.toFixed(1)} | ${stage.peakRssMb.toFixed(0)} | ${loadavg()[0]!.toFixed(1)} |`,
      );
    };
    if (args.baseline !== undefined) {
      const baseline = JSON.parse(await lastLine(process.execPath, stageArgs, args.baseline)) as StageRound;
      baselines.push(baseline);
      printStage('baseline stage', baseline);
    }
    const stage = JSON.parse(await lastLine(process.execPath, stageArgs)) as StageRound;
    stages.push(stage);
    printStage('keel stage', stage);
    if (python === null) continue;
    const lgbm = JSON.parse(
      await lastLine(python, ['-W', 'ignore', join(import.meta.dirname, 'stage_lightgbm.py'), snapshotFile, codesFile, String(TREES), String(LEAVES), String(LEARNING_RATE)]),
    ) as LightgbmRound;
    lightgbm.push(lgbm);
    console.log(
      `| ${round} | ${lgbm.library} Dataset + fit (${lgbm.rows} rows) | | | | | | | ${lgbm.wall_seconds.toFixed(1)} | ${lgbm.cpu_seconds.toFixed(1)} | ${lgbm.peak_rss_mb.toFixed(0)} | ${loadavg()[0]!.toFixed(1)} |`,
    );
  }
  if (baselines.length > 0) {
    console.log(`\nmedian CPU: baseline stage ${median(baselines.map((r) => r.cpuSeconds)).toFixed(1)} s, this stage ${median(stages.map((r) => r.cpuSeconds)).toFixed(1)} s`);
  }
  if (lightgbm.length > 0) {
    const keelCpu = median(stages.map((r) => r.cpuSeconds));
    const lgbmCpu = median(lightgbm.map((r) => r.cpu_seconds));
    console.log(
      `\nmedian CPU: stage ${keelCpu.toFixed(1)} s, LightGBM Dataset + fit ${lgbmCpu.toFixed(1)} s: ${(keelCpu / lgbmCpu).toFixed(2)}x (target <= 1.3x); ` +
        `peak RSS: stage ${median(stages.map((r) => r.peakRssMb)).toFixed(0)} MB, LightGBM process ${median(lightgbm.map((r) => r.peak_rss_mb)).toFixed(0)} MB`,
    );
  } else if (python === null) {
    console.log('\nLightGBM skipped: bench/.venv (or python3) has no lightgbm, numpy, pandas and pyarrow.');
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}

function pythonWithLightgbm(): string | null {
  if (args['no-python']) return null;
  const venvPython = join('bench', '.venv', 'bin', 'python');
  const python = existsSync(venvPython) ? venvPython : 'python3';
  const probe = spawnSync(python, ['-c', 'import lightgbm, numpy, pandas, pyarrow'], { encoding: 'utf8' });
  return probe.error === undefined && probe.status === 0 ? python : null;
}

/** Runs a command to its end and returns the last line it printed (its JSON result). */
async function lastLine(command: string, argv: string[], cwd?: string): Promise<string> {
  const child = spawn(command, argv, { stdio: ['ignore', 'pipe', 'inherit'], cwd });
  let out = '';
  child.stdout.on('data', (data: Buffer) => (out += data.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (code !== 0) throw new Error(`${command} ${argv.join(' ')} exited with ${code}`);
  return out.trim().split('\n').at(-1)!;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
