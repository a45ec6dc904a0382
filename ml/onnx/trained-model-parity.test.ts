// The parity check the evaluate stage relies on, on really trained models: onnxruntime-node reproduces the
// trainers' own predictions (predictGbdt / predictLinear) on held-out rows with missing and unseen values.
import { afterAll, describe, expect, it } from 'vitest';
import type { ColumnarDataset } from '../dataset.js';
import { predictGbdt, trainGbdt } from '../gbdt/index.js';
import { predictLinear, trainLinear } from '../linear/index.js';
import type { GbdtModel, LinearModel } from '../model.js';
import { createOnnxScorer, exportModelToOnnx, onnxParity, type OnnxParityReport, type OnnxScorer } from './index.js';
import { seededRandom } from '../gbdt/prng.js';

const shops = ['north', 'south', 'east', 'west', 'online', 'kiosk', 'outlet', 'depot'];

/** Mixed data: two numerics (one on a coarse grid, so held-out values hit split thresholds), one categorical. */
function dataset(seed: number, n: number, task: 'binary' | 'regression', withUnseen: boolean): ColumnarDataset {
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
    const shopIndex = shop[i] === null ? -1 : shops.indexOf(shop[i]!);
    const z =
      (Number.isNaN(amount[i]) ? 0.3 : Math.log(amount[i]) - 3) * 0.8 +
      (Number.isNaN(hour[i]) ? 0 : hour[i] >= 18 ? 1.2 : -0.3) +
      (shopIndex < 0 ? 0 : [0.5, -0.5, 1, -1, 2, 0, -2, 0.25][shopIndex]);
    label[i] = task === 'binary' ? (rand() < 1 / (1 + Math.exp(-z)) ? 1 : 0) : 10 * z + rand();
  }
  return { rowCount: n, columns: { amount, hour, shop }, label };
}

const meta = { snapshotSha256: 'f'.repeat(64), keelVersion: '0.1.0' };
const scorers: OnnxScorer[] = [];
afterAll(async () => {
  await Promise.all(scorers.map((s) => s.close()));
});

async function parity(model: GbdtModel | LinearModel, data: ColumnarDataset, reference: Float64Array): Promise<OnnxParityReport> {
  const scorer = await createOnnxScorer(exportModelToOnnx(model, meta));
  scorers.push(scorer);
  return onnxParity(model.task, await scorer.score(data), reference);
}

describe('ONNX parity on trained models', () => {
  for (const task of ['binary', 'regression'] as const) {
    it(`when a GBDT ${task} model is trained, then onnxruntime reproduces predictGbdt within 1e-9`, async () => {
      const train = dataset(task === 'binary' ? 1 : 2, 4000, task, false);
      const holdout = dataset(3, 2000, task, true);
      const { model } = await trainGbdt(train, { task, numIterations: 40, numLeaves: 15, minDataInLeaf: 10, maxCatToOnehot: 2 });
      const gbdt = model as GbdtModel;
      expect(gbdt.trees.some((t) => t.categorySets.some((s) => s !== null))).toBe(true);
      const report = await parity(gbdt, holdout, predictGbdt(gbdt, holdout));
      expect(report).toMatchObject({ rows: 2000, passed: true });
      expect(report.maxError).toBeLessThanOrEqual(1e-9);
      // Held-out values exactly at the trained thresholds.
      const thresholds = gbdt.trees.flatMap((t) => t.threshold.filter((_, i) => t.feature[i] === 1));
      const atThresholds: ColumnarDataset = {
        rowCount: thresholds.length,
        columns: {
          amount: Float64Array.from(thresholds, () => 20),
          hour: Float64Array.from(thresholds),
          shop: thresholds.map(() => 'north'),
        },
      };
      expect(thresholds.length).toBeGreaterThan(0);
      expect((await parity(gbdt, atThresholds, predictGbdt(gbdt, atThresholds))).maxError).toBeLessThanOrEqual(1e-9);
    });

    it(`when a linear ${task} model is trained, then onnxruntime reproduces predictLinear within 1e-9`, async () => {
      const train = dataset(task === 'binary' ? 4 : 5, 4000, task, false);
      const holdout = dataset(6, 2000, task, true);
      const { model } = trainLinear(train, { task });
      const report = await parity(model, holdout, predictLinear(model as LinearModel, holdout));
      expect(report).toMatchObject({ rows: 2000, passed: true });
      expect(report.maxError).toBeLessThanOrEqual(1e-9);
    });
  }
});
