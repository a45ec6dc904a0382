// Keel GBDT alone on the first <rows> flights rows (default 200k, <trees> trees, 255 leaves, <threads> threads):
// CPU and wall seconds, test AUC and a hash of the model JSON, to A/B an optimisation (same hash = same model bit
// for bit; the hash must not change with the thread count).
//   npx tsx bench/train/gbdt-cpu.ts [rows] [trees] [threads] [parallelMinRows]   (node --import tsx --cpu-prof … to profile)
import { createHash } from 'node:crypto';
import { trainGbdt, predictGbdt } from '../../ml/gbdt/index.js';
import { rocAuc } from '../../ml/metrics/index.js';
import { loadFlightsSplit } from './load-flights.js';
const rows = Number(process.argv[2] ?? 200000);
const trees = Number(process.argv[3] ?? 100);
const numThreads = Number(process.argv[4] ?? 1);
const parallelMinRows = process.argv[5] === undefined ? undefined : Number(process.argv[5]);
const { train, test } = await loadFlightsSplit(rows, 100000);
const cpu0 = process.cpuUsage();
const wall0 = performance.now();
const r = await trainGbdt(train, { task: 'binary', numIterations: trees, numLeaves: 255, learningRate: 0.1 }, { numThreads, parallelMinRows });
const wall = (performance.now() - wall0) / 1e3;
const c = process.cpuUsage(cpu0);
console.log('threads', numThreads, 'cpu', (c.user + c.system) / 1e6, 'wall', wall.toFixed(3), 'auc', rocAuc(test.label!, predictGbdt(r.model, test)), 'model', createHash('sha256').update(JSON.stringify(r.model)).digest('hex').slice(0, 16));
