// Ingest benchmark: raw DuckDB (read + SUMMARIZE) against Keel's snapshot + profile + validation, on the
// 3,000,000-row flights Parquet file and on a CSV of the same rows. Run: npx tsx bench/ingest/run.ts [--repeat N]
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FsArtifactStore } from '../../artifacts/fs-artifact-store.js';
import type { DataPlaneSettings } from '../../data/dataset-source.js';
import { openDuckDb } from '../../data/duckdb-session.js';
import { profileSnapshot, type DatasetProfile } from '../../data/profile-snapshot.js';
import { snapshotDataset } from '../../data/snapshot-dataset.js';
import { quoteString } from '../../data/sql-literal.js';
import { validateProfile } from '../../data/validate-profile.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PARQUET = join(ROOT, 'node_modules/vega-datasets/data/flights-3m.parquet');
const BENCH_DATA = join(ROOT, 'bench/data');
const CSV = join(BENCH_DATA, 'flights-3m.csv');
const repeatArg = process.argv.indexOf('--repeat');
const REPEAT = repeatArg > 0 ? Number(process.argv[repeatArg + 1]) : 3;

interface Sample {
  ms: number;
  peakRssMb: number;
  peakHeapMb: number;
}

/** Times `work`, sampling RSS and JS heap every 20 ms to report the peak during it. */
async function measure(work: () => Promise<void>): Promise<Sample> {
  let peakRss = 0;
  let peakHeap = 0;
  const sample = () => {
    const usage = process.memoryUsage();
    peakRss = Math.max(peakRss, usage.rss);
    peakHeap = Math.max(peakHeap, usage.heapUsed);
  };
  global.gc?.();
  sample();
  const timer = setInterval(sample, 20);
  const started = performance.now();
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  const ms = performance.now() - started;
  sample();
  return { ms, peakRssMb: peakRss / 2 ** 20, peakHeapMb: peakHeap / 2 ** 20 };
}

async function rawDuckDb(readExpression: string): Promise<void> {
  const session = await openDuckDb();
  try {
    await session.connection.runAndReadAll(`SUMMARIZE SELECT * FROM ${readExpression}`);
  } finally {
    session.close();
  }
}

async function keel(file: string, dataRoot: string, reference: DatasetProfile | undefined): Promise<DatasetProfile> {
  const scratch = await mkdtemp(join(tmpdir(), 'keel-bench-'));
  try {
    const settings: DataPlaneSettings = { dataRoots: [dataRoot], workDir: join(scratch, 'work'), sqlConnections: {} };
    const artifacts = new FsArtifactStore(join(scratch, 'artifacts'));
    const snapshot = await snapshotDataset({ source: { kind: 'file', path: file } }, { artifacts, settings });
    const profile = await profileSnapshot(await artifacts.localPath(snapshot.sha256), { reference });
    const report = validateProfile(profile, { target: 'delay', task: 'regression', reference });
    if (!report.passed) throw new Error(`benchmark data failed validation: ${report.summary}`);
    return profile;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

async function ensureCsv(): Promise<void> {
  if (existsSync(CSV)) return;
  await mkdir(BENCH_DATA, { recursive: true });
  console.log(`generating ${CSV} from ${PARQUET} (once) …`);
  const session = await openDuckDb();
  try {
    const partial = `${CSV}.partial`;
    await session.connection.run(`COPY (SELECT * FROM read_parquet(${quoteString(PARQUET)})) TO ${quoteString(partial)} (FORMAT csv, HEADER true)`);
    const { rename } = await import('node:fs/promises');
    await rename(partial, CSV);
  } finally {
    session.close();
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function bench(label: string, file: string, readExpression: string) {
  const dataRoot = dirname(file);
  const size = (await stat(file)).size;
  // A previous accepted snapshot's profile, as validation would have in production (not timed).
  const reference = await keel(file, dataRoot, undefined);
  const raw: Sample[] = [];
  const ours: Sample[] = [];
  for (let i = 0; i < REPEAT; i += 1) {
    raw.push(await measure(() => rawDuckDb(readExpression)));
    ours.push(await measure(async () => {
      await keel(file, dataRoot, reference);
    }));
  }
  const rawMs = median(raw.map((s) => s.ms));
  const keelMs = median(ours.map((s) => s.ms));
  return {
    label,
    rows: reference.rowCount,
    sizeMb: size / 2 ** 20,
    rawMs,
    keelMs,
    ratio: keelMs / rawMs,
    rawRss: Math.max(...raw.map((s) => s.peakRssMb)),
    keelRss: Math.max(...ours.map((s) => s.peakRssMb)),
    keelHeap: Math.max(...ours.map((s) => s.peakHeapMb)),
    rawHeap: Math.max(...raw.map((s) => s.peakHeapMb)),
  };
}

await ensureCsv();
const results = [
  await bench('flights-3m.parquet', PARQUET, `read_parquet(${quoteString(PARQUET)})`),
  await bench('flights-3m.csv', CSV, `read_csv(${quoteString(CSV)})`),
];
const fmt = (value: number, digits = 0) => value.toFixed(digits);
console.log(`\nmedian of ${REPEAT} runs each, alternating; ${process.platform} ${process.arch}, node ${process.version}`);
console.log('| file | rows | MB | raw DuckDB read+SUMMARIZE (ms) | Keel snapshot+profile+validate (ms) | ratio | peak RSS raw / Keel (MB) | peak JS heap raw / Keel (MB) |');
console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
for (const r of results) {
  console.log(`| ${r.label} | ${r.rows.toLocaleString('en-US')} | ${fmt(r.sizeMb, 1)} | ${fmt(r.rawMs)} | ${fmt(r.keelMs)} | ${fmt(r.ratio, 2)}× | ${fmt(r.rawRss)} / ${fmt(r.keelRss)} | ${fmt(r.rawHeap)} / ${fmt(r.keelHeap)} |`);
}
