// Times the GBDT trainer on a synthetic 200k-row binary set (6 numeric features, 2% label noise), 100 trees,
// minDataInLeaf 20: the before/after check for changes to the tree learner. `npx tsx bench/train/synthetic-binary.ts`
import { trainGbdt } from '../../ml/gbdt/index.js';

const N = 200_000;
const F = 6;
let seed = 12345;
const rand = (): number => ((seed = (seed * 16807) % 2147483647) / 2147483647);
const columns: Record<string, Float64Array> = {};
for (let j = 0; j < F; j++) columns[`x${j}`] = Float64Array.from({ length: N }, () => rand());
const label = new Float64Array(N);
for (let i = 0; i < N; i++) {
  const z = 3 * columns.x0[i] - 2 * columns.x1[i] + columns.x2[i] * columns.x3[i] - 0.8;
  label[i] = (z > 0) !== (rand() < 0.02) ? 1 : 0;
}
const times: number[] = [];
let trees = 0;
for (let run = 0; run < 3; run++) {
  const start = performance.now();
  const result = await trainGbdt({ rowCount: N, columns, label }, { task: 'binary', numIterations: 100, minDataInLeaf: 20, seed: 1 });
  times.push(performance.now() - start);
  trees = result.model.trees.length;
}
times.sort((a, b) => a - b);
console.log(`synthetic binary ${N} rows × ${F} features, ${trees} trees: median ${times[1].toFixed(0)} ms (runs ${times.map((t) => t.toFixed(0)).join(', ')})`);
