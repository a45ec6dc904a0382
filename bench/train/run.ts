// Training benchmark on flights-3m.parquet: Keel's GBDT (and the linear trainer, when present) against
// LightGBM and XGBoost (hist) on the same rows and parameters. See bench/train/README.md.
//
//   npx tsx bench/train/run.ts [--trees 100] [--leaves 255] [--lr 0.1] [--train-rows 1000000]
//                              [--test-rows 500000] [--threads 1,2] [--no-python]

import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createInterface } from 'node:readline';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { ColumnarDataset } from '../../ml/dataset.js';
import { predictGbdt, trainGbdt } from '../../ml/gbdt/index.js';
import { rocAuc } from '../../ml/metrics/index.js';
import type { Model } from '../../ml/model.js';
import { loadFlightsSplit } from './load-flights.js';

const { values: args } = parseArgs({
  options: {
    trees: { type: 'string', default: '100' },
    leaves: { type: 'string', default: '255' },
    lr: { type: 'string', default: '0.1' },
    'train-rows': { type: 'string', default: '1000000' },
    'test-rows': { type: 'string', default: '500000' },
    threads: { type: 'string', default: '1,2' },
    'no-python': { type: 'boolean', default: false },
  },
});
const trees = Number(args.trees);
const leaves = Number(args.leaves);
const learningRate = Number(args.lr);

interface Row {
  trainer: string;
  threads: string;
  wallSeconds: number;
  cpuSeconds: number;
  auc: number;
  memory: string;
}
const table: Row[] = [];
const mb = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(0)} MB`;

const exportDir = mkdtempSync(join(tmpdir(), 'keel-bench-train-'));
try {
  let t = performance.now();
  const { train, test } = await loadFlightsSplit(Number(args['train-rows']), Number(args['test-rows']), exportDir);
  console.log(`loaded ${train.rowCount} train / ${test.rowCount} test rows in ${((performance.now() - t) / 1000).toFixed(1)} s (DuckDB)`);
  console.log(`target delay > 15; features distance, hour, day_of_week (numeric), origin, destination (categorical)`);
  console.log(`params: ${trees} trees, ${leaves} leaves, learning rate ${learningRate}, no early stopping, no bagging\n`);

  // Keel once per thread count: the model must not change with it (the hash is printed to show it).
  for (const threads of args.threads!.split(',').map(Number)) {
    const rssBefore = process.memoryUsage().rss;
    let peakRss = rssBefore;
    let peakHeap = 0;
    const sampleMemory = (): void => {
      const m = process.memoryUsage();
      peakRss = Math.max(peakRss, m.rss);
      peakHeap = Math.max(peakHeap, m.heapUsed);
    };
    t = performance.now();
    const cpu0 = process.cpuUsage();
    const result = await trainGbdt(train, { task: 'binary', numIterations: trees, numLeaves: leaves, learningRate }, { onIteration: sampleMemory, numThreads: threads });
    const cpu = process.cpuUsage(cpu0);
    const gbdtWall = (performance.now() - t) / 1000;
    sampleMemory();
    const gbdtAuc = rocAuc(test.label!, predictGbdt(result.model, test));
    const hash = createHash('sha256').update(JSON.stringify(result.model)).digest('hex').slice(0, 16);
    table.push({
      trainer: 'keel gbdt',
      threads: String(threads),
      wallSeconds: gbdtWall,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      auc: gbdtAuc,
      memory: `RSS ${mb(rssBefore)} → peak ${mb(peakRss)}, heap peak ${mb(peakHeap)}; process peak RSS ${mb(process.resourceUsage().maxRSS * 1024)}; model ${hash}`,
    });
    printRow(table.at(-1)!);
  }

  await runLinear(train, test);
  if (!args['no-python']) await runPython();
} finally {
  rmSync(exportDir, { recursive: true, force: true });
}

console.log('\n| trainer | threads | wall s | CPU s | test AUC | memory |\n|---|---|---|---|---|---|');
for (const r of table) {
  console.log(`| ${r.trainer} | ${r.threads} | ${r.wallSeconds.toFixed(1)} | ${r.cpuSeconds.toFixed(1)} | ${r.auc.toFixed(4)} | ${r.memory} |`);
}

function printRow(r: Row): void {
  console.log(`${r.trainer} (${r.threads} thread): ${r.wallSeconds.toFixed(1)} s wall, ${r.cpuSeconds.toFixed(1)} s CPU, test AUC ${r.auc.toFixed(4)}${r.memory ? `, ${r.memory}` : ''}`);
}

/** The linear trainer is built by another engineer; skip it when it is not there. */
async function runLinear(train: ColumnarDataset, test: ColumnarDataset): Promise<void> {
  type LinearApi = {
    trainLinear(d: ColumnarDataset, p: { task: 'binary' }): { model: Model };
    predictLinear(m: Model, d: ColumnarDataset): Float64Array;
  };
  let linear: LinearApi;
  try {
    linear = (await import('../../ml/linear/index.js' as string)) as LinearApi;
  } catch {
    console.log('linear trainer: ml/linear not present, skipped');
    return;
  }
  const t = performance.now();
  const cpu0 = process.cpuUsage();
  const { model } = linear.trainLinear(train, { task: 'binary' });
  const cpu = process.cpuUsage(cpu0);
  const wall = (performance.now() - t) / 1000;
  table.push({ trainer: 'keel linear', threads: '1', wallSeconds: wall, cpuSeconds: (cpu.user + cpu.system) / 1e6, auc: rocAuc(test.label!, linear.predictLinear(model, test)), memory: '' });
  printRow(table.at(-1)!);
}

async function runPython(): Promise<void> {
  const venvPython = join('bench', '.venv', 'bin', 'python');
  const python = existsSync(venvPython) ? venvPython : 'python3';
  const probe = spawnSync(python, ['-c', 'import lightgbm, xgboost, pandas, pyarrow, sklearn'], { encoding: 'utf8' });
  if (probe.error !== undefined || probe.status !== 0) {
    console.log(`\nPython baselines skipped: ${python} with lightgbm, xgboost, pandas, pyarrow and scikit-learn is not available.`);
    console.log('  (python3 -m venv bench/.venv && bench/.venv/bin/pip install lightgbm xgboost pandas pyarrow scikit-learn)');
    return;
  }
  console.log(`\nPython baselines (${python}):`);
  const child = spawn(python, ['-W', 'ignore', join('bench', 'train', 'compare.py'), exportDir, String(trees), String(leaves), String(learningRate), args.threads!], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  // Print each baseline as it finishes: the whole comparison takes minutes.
  for await (const line of createInterface({ input: child.stdout })) {
    if (!line.startsWith('{')) continue;
    const r = JSON.parse(line) as { library: string; threads: number; train_seconds: number; cpu_seconds: number; test_auc: number; peak_rss_mb: number };
    // The Python process loads the data once and trains LightGBM first: its first peak is LightGBM's own.
    const memory = table.some((row) => !row.trainer.startsWith('keel')) ? `process peak RSS so far ${r.peak_rss_mb.toFixed(0)} MB` : `process peak RSS ${r.peak_rss_mb.toFixed(0)} MB`;
    table.push({ trainer: r.library, threads: String(r.threads), wallSeconds: r.train_seconds, cpuSeconds: r.cpu_seconds, auc: r.test_auc, memory });
    printRow(table.at(-1)!);
  }
  const code = await exited;
  if (code !== 0) console.log(`compare.py exited with code ${code}`);
}