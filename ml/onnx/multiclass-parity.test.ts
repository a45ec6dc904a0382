// Multiclass models through a real onnxruntime session: per-class probabilities within 1e-6 of the trainer's own,
// the label output is the most probable class's name, and the class list travels in the model's metadata.
import { afterAll, describe, expect, it } from 'vitest';
import type { ColumnarDataset } from '../dataset.js';
import { predictGbdt, trainGbdt } from '../gbdt/index.js';
import { seededRandom } from '../gbdt/prng.js';
import { predictedClasses } from '../metrics/index.js';
import { predictLinear, trainLinear } from '../linear/index.js';
import type { GbdtModel, LinearModel } from '../model.js';
import { createOnnxScorer, exportModelToOnnx, onnxParity, readOnnxMetadata, type OnnxScorer } from './index.js';

const shops = ['north', 'south', 'east', 'west', 'online', 'kiosk'];
const classes = ['bronze', 'gold', 'platinum', 'silver'];

/** Four classes driven by two numerics (one on an integer grid, so rows sit at split thresholds) and a categorical. */
function dataset(seed: number, n: number, withUnseen: boolean): ColumnarDataset {
  const rand = seededRandom(seed);
  const amount = new Float64Array(n);
  const hour = new Float64Array(n);
  const shop: (string | null)[] = [];
  const label = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    amount[i] = rand() < 0.08 ? Number.NaN : Math.exp(rand() * 6) * 1.37;
    hour[i] = rand() < 0.05 ? Number.NaN : Math.floor(rand() * 24);
    const s = rand();
    shop.push(rand() < 0.05 ? null : withUnseen && s < 0.05 ? 'pop-up' : shops[Math.floor(s * shops.length)]);
    const a = Number.isNaN(amount[i]) ? 0 : Math.log(amount[i]) - 3;
    const h = Number.isNaN(hour[i]) ? 0 : hour[i] >= 18 ? 1 : -0.5;
    const shopIndex = shop[i] === null ? -1 : shops.indexOf(shop[i]!);
    const scores = [a, -a, h + (shopIndex === 4 ? 1.5 : 0), shopIndex < 0 ? 0 : [0.5, -0.5, 1, -1, 0, 0.7][shopIndex]];
    const e = scores.map((v) => Math.exp(v));
    let u = rand() * e.reduce((x, y) => x + y, 0);
    let k = 0;
    while (k < 3 && u > e[k]) u -= e[k++];
    label[i] = k;
  }
  return { rowCount: n, columns: { amount, hour, shop }, label };
}

const meta = { snapshotSha256: 'f'.repeat(64), keelVersion: '0.1.0' };
const scorers: OnnxScorer[] = [];
afterAll(async () => {
  await Promise.all(scorers.map((s) => s.close()));
});

describe('multiclass ONNX export', () => {
  it('when a 4-class GBDT is trained, then onnxruntime reproduces every class probability within 1e-6 and names the top class', async () => {
    const train = dataset(11, 3000, false);
    const holdout = dataset(12, 1500, true);
    const { model } = await trainGbdt(train, { task: 'multiclass', numClass: 4, numIterations: 30, numLeaves: 15, minDataInLeaf: 10, maxCatToOnehot: 2 });
    const gbdt = { ...(model as GbdtModel), classes };
    expect(gbdt.trees).toHaveLength(120);
    const bytes = exportModelToOnnx(gbdt, meta);
    expect(readOnnxMetadata(bytes)).toMatchObject({ task: 'multiclass', classes });
    const scorer = await createOnnxScorer(bytes);
    scorers.push(scorer);
    expect(scorer.classes).toEqual(classes);
    const scores = await scorer.score(holdout);
    const reference = predictGbdt(gbdt, holdout);
    expect(scores.probabilities).toHaveLength(1500 * 4);
    const report = onnxParity('multiclass', scores, reference, 1e-6);
    expect(report.passed).toBe(true);
    expect(report.maxError).toBeLessThanOrEqual(1e-6);
    const top = predictedClasses(reference, 4);
    expect(scores.classLabel).toEqual(Array.from(top, (k) => classes[k]));
    // The model learned something: its top class beats the majority class's share.
    let hits = 0;
    for (let r = 0; r < 1500; r++) if (top[r] === holdout.label![r]) hits++;
    const counts = [0, 1, 2, 3].map((k) => holdout.label!.filter((y) => y === k).length);
    expect(hits / 1500).toBeGreaterThan(Math.max(...counts) / 1500 + 0.05);
  });

  it('when a 4-class multinomial logistic model is trained, then onnxruntime reproduces every class probability within 1e-6', async () => {
    const train = dataset(14, 3000, false);
    const holdout = dataset(15, 1500, true);
    const { model } = trainLinear(train, { task: 'multiclass', numClass: 4 });
    const linear = model as LinearModel;
    linear.multiclass!.classes = classes;
    const scorer = await createOnnxScorer(exportModelToOnnx(linear, meta));
    scorers.push(scorer);
    const scores = await scorer.score(holdout);
    const reference = predictLinear(linear, holdout);
    const report = onnxParity('multiclass', scores, reference, 1e-6);
    expect(report.passed).toBe(true);
    expect(report.maxError).toBeLessThanOrEqual(1e-6);
    expect(scores.classLabel).toEqual(Array.from(predictedClasses(reference, 4), (k) => classes[k]));
  });

  it('when rows are scored one by one and as a batch, then the probabilities are the same', async () => {
    const train = dataset(13, 800, false);
    const { model } = await trainGbdt(train, { task: 'multiclass', numClass: 4, numIterations: 5 });
    const scorer = await createOnnxScorer(exportModelToOnnx({ ...(model as GbdtModel), classes }, meta));
    scorers.push(scorer);
    const rows = [
      { amount: 12.5, hour: 19, shop: 'online' },
      { amount: null, hour: null, shop: null },
      { amount: 400, hour: 3, shop: 'never-seen' },
    ];
    const batch = await scorer.score(rows);
    const single = await Promise.all(rows.map((row) => scorer.score([row])));
    expect(Array.from(batch.probabilities!)).toEqual(single.flatMap((s) => Array.from(s.probabilities!)));
    expect(batch.classLabel).toEqual(single.map((s) => s.classLabel![0]));
    for (let r = 0; r < 3; r++) expect(batch.probabilities!.slice(4 * r, 4 * r + 4).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
  });
});
