import { RowRecords } from '../../ml/gbdt/row-records.js';
const N = Number(process.argv[2] ?? 1_000_000);
const F = 5;
let seed = 7;
const rand = (): number => ((seed = (seed * 16807) % 2147483647) / 2147483647);
const columns = Array.from({ length: F }, () => Uint8Array.from({ length: N }, () => 1 + Math.floor(rand() * 200)));
const rec = new RowRecords({ rowCount: N, featureCount: F, columns });
const inBag = Int32Array.from({ length: N }, (_, i) => i);
const grad = Float64Array.from({ length: N }, () => rand() - 0.5);
const hess = Float64Array.from({ length: N }, () => rand() * 0.25);
const rows = new Int32Array(N);
const mask = new Uint8Array(256);
for (let b = 1; b <= 100; b++) mask[b] = 1;
let tot = 0;
for (let rep = 0; rep < 12; rep++) {
  rows.set(inBag);
  rec.load(inBag, N, grad, hess);
  const c0 = process.cpuUsage();
  // a tree's worth: split recursively by features cycling, ~8 levels
  const stack: [number, number, number][] = [[0, N, 0]];
  let moved = 0;
  while (stack.length) {
    const [b, s, d] = stack.pop()!;
    if (d >= 8 || s < 40) continue;
    const l = rec.partition(rows, b, s, d % F, mask);
    moved += s;
    stack.push([b, l, d + 1], [b + l, s - l, d + 1]);
  }
  const c = process.cpuUsage(c0);
  if (rep >= 2) tot += c.user + c.system;
  if (rep === 11) console.log('rows partitioned per tree', moved, 'ns/row', (tot / 10 * 1000 / moved).toFixed(2));
}
{
  // correctness: random sizes and masks against a count
  for (let trial = 0; trial < 200; trial++) {
    rows.set(inBag);
    rec.load(inBag, N, grad, hess);
    const size = 1 + Math.floor(rand() * 5000);
    const begin = Math.floor(rand() * 1000);
    const m = new Uint8Array(256);
    const frac = rand();
    for (let b = 0; b < 256; b++) m[b] = rand() < frac ? 1 : 0;
    const f = trial % F;
    let expected = 0;
    for (let i = begin; i < begin + size; i++) expected += m[columns[f][i]];
    const l = rec.partition(rows, begin, size, f, m);
    if (l !== expected) throw new Error(`count ${l} != ${expected}`);
    const seen = new Set<number>();
    for (let i = begin; i < begin + size; i++) {
      const r = rows[i];
      seen.add(r);
      if (m[columns[f][r]] !== (i < begin + l ? 1 : 0)) throw new Error('misplaced');
      if (rec.u8[i * rec.stride * 8 + 8 + f] !== columns[f][r] || rec.f32[i * rec.stride * 2] !== Math.fround(grad[r])) throw new Error('record/row mismatch');
    }
    if (seen.size !== size) throw new Error('lost rows');
  }
  console.log('partition correct');
}
