import { afterAll, describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import type { GbdtModel, LinearModel, RawRow, Tree } from '../model.js';
import { predictLinear } from '../linear/index.js';
import { createOnnxScorer, exportModelToOnnx, OnnxInputError, readOnnxMetadata, type OnnxScorer } from './index.js';
import { decodeModelProto } from './onnx-proto.js';
import { seededRandom } from '../gbdt/prng.js';

const meta = { snapshotSha256: 'a'.repeat(64), keelVersion: '0.1.0' };
const scorers: OnnxScorer[] = [];
afterAll(async () => {
  await Promise.all(scorers.map((s) => s.close()));
});

async function scorerFor(model: GbdtModel | LinearModel): Promise<OnnxScorer> {
  const scorer = await createOnnxScorer(exportModelToOnnx(model, meta));
  scorers.push(scorer);
  return scorer;
}

/** The next representable double after x towards +∞ (direction 1) or −∞ (direction -1); x finite and non-zero. */
function nextDouble(x: number, direction: 1 | -1): number {
  const bits = new BigInt64Array(Float64Array.of(x).buffer);
  bits[0] += (x > 0) === (direction > 0) ? 1n : -1n;
  return new Float64Array(bits.buffer)[0];
}

/** model.ts semantics written out directly: the independent reference for the ONNX graph. */
function referenceGbdt(model: GbdtModel, row: RawRow): number {
  let score = model.baseScore;
  for (const tree of model.trees) {
    let node = 0;
    while (tree.feature[node] !== -1) {
      const feature = model.features[tree.feature[node]];
      const value = row[feature.name];
      let goLeft: boolean;
      if (feature.kind === 'numeric') {
        const x = typeof value === 'number' ? value : Number.NaN;
        goLeft = Number.isNaN(x) ? tree.missingLeft[node] : x <= tree.threshold[node];
      } else {
        const code = typeof value === 'string' ? feature.categories.indexOf(value) : -1;
        goLeft = code < 0 ? tree.missingLeft[node] : tree.categorySets[node]!.includes(code);
      }
      node = goLeft ? tree.left[node] : tree.right[node];
    }
    score += tree.value[node];
  }
  return model.task === 'binary' ? 1 / (1 + Math.exp(-score)) : score;
}

// Numeric values live on grids: x on multiples of 1/8 (exact in float32), z on multiples of 0.1 (not exact),
// so thresholds drawn from the same grid produce many values exactly at a threshold.
const gridX = (k: number): number => k / 8;
const gridZ = (k: number): number => k * 0.1;
const colours = ['red', 'green', 'blue', 'cyan', 'magenta', 'yellow'];
const features: GbdtModel['features'] = [
  { name: 'x', kind: 'numeric' },
  { name: 'colour', kind: 'categorical', categories: colours },
  { name: 'z', kind: 'numeric' },
];

/** A random valid tree with `leaves` leaves, grown by splitting random leaves. */
function randomTree(rand: () => number, leaves: number): Tree {
  const t: Tree = { feature: [-1], threshold: [0], categorySets: [null], missingLeft: [false], left: [-1], right: [-1], value: [0], gain: [0] };
  const open = [0];
  while (open.length < leaves) {
    const node = open.splice(Math.floor(rand() * open.length), 1)[0];
    const f = Math.floor(rand() * 3);
    t.feature[node] = f;
    t.missingLeft[node] = rand() < 0.5;
    t.gain[node] = rand();
    if (f === 1) {
      t.categorySets[node] = colours.map((_, c) => c).filter(() => rand() < 0.4);
    } else {
      const k = Math.floor(rand() * 41) - 20;
      // Half the thresholds are grid values (ties), half lie between grid values.
      t.threshold[node] = f === 0 ? gridX(k + (rand() < 0.5 ? 0 : 0.5)) : gridZ(k + (rand() < 0.5 ? 0 : 0.5));
    }
    for (const side of ['left', 'right'] as const) {
      const child = t.feature.length;
      t.feature.push(-1);
      t.threshold.push(0);
      t.categorySets.push(null);
      t.missingLeft.push(false);
      t.left.push(-1);
      t.right.push(-1);
      t.value.push((rand() - 0.5) * 0.4);
      t.gain.push(0);
      t[side][node] = child;
      open.push(child);
    }
  }
  return t;
}

function randomRows(rand: () => number, count: number): RawRow[] {
  return Array.from({ length: count }, () => ({
    x: rand() < 0.1 ? null : rand() < 0.05 ? Number.NaN : gridX(Math.floor(rand() * 45) - 22),
    colour: rand() < 0.1 ? null : rand() < 0.1 ? 'ultraviolet' : colours[Math.floor(rand() * colours.length)],
    z: rand() < 0.1 ? undefined : gridZ(Math.floor(rand() * 45) - 22),
  }));
}

/** A hand-built tree: x <= 0.5 (missing left) → [colour ∈ {green, cyan} (missing right) → 1 : 2] : [z <= 0.3 (missing right) → 3 : 4]. */
const handTree: Tree = {
  feature: [0, 1, 2, -1, -1, -1, -1],
  threshold: [0.5, 0, 0.3, 0, 0, 0, 0],
  categorySets: [null, [1, 3], null, null, null, null, null],
  missingLeft: [true, false, false, false, false, false, false],
  left: [1, 3, 5, -1, -1, -1, -1],
  right: [2, 4, 6, -1, -1, -1, -1],
  value: [0, 0, 0, 1, 2, 3, 4],
  gain: [3, 2, 1, 0, 0, 0, 0],
};

describe('exportModelToOnnx for GBDT', () => {
  it('when rows hit numeric splits, category sets and missing values, then onnxruntime follows the tree like model.ts', async () => {
    const model: GbdtModel = { kind: 'gbdt', task: 'regression', features, baseScore: 10, trees: [handTree] };
    const rows: RawRow[] = [
      { x: 0.5, colour: 'green', z: 0 }, // at the threshold → left; green ∈ set → 1
      { x: 0.5, colour: 'red', z: 0 }, // left; red ∉ set → 2
      { x: null, colour: 'cyan', z: 0 }, // missing x → left; cyan → 1
      { x: 0.50001, colour: 'green', z: 0.3 }, // right; z = 0.3 exactly → left → 3
      { x: 2, colour: null, z: 0.30001 }, // right; z > 0.3 → 4
      { x: 2, colour: 'green', z: null }, // right; missing z → right → 4
      { x: 0, colour: 'ultraviolet', z: 0 }, // left; unseen colour = missing → right → 2
      { x: 0, colour: null, z: 0 }, // left; missing colour → right → 2
    ];
    const expected = [11, 12, 11, 13, 14, 14, 12, 12];
    const scorer = await scorerFor(model);
    const { value } = await scorer.score(rows);
    expect(Array.from(value!)).toEqual(expected);
    expect(rows.map((r) => referenceGbdt(model, r))).toEqual(expected);
  });

  it('when inputs are the neighbouring doubles of a threshold, then each goes the way model.ts sends it', async () => {
    // Float32 cannot hold most of these (epoch seconds, 64-bit-range ids, money amounts): the graph compares doubles.
    const thresholds = [0.1, 1 / 3, -2.7, 1e-8, 1.2345e-4, 123456.789, 16777217, 1_700_000_000.5, 1_700_000_001, 9.007e15, 1234567890.12];
    for (const threshold of thresholds) {
      const tree: Tree = {
        feature: [0, -1, -1], threshold: [threshold, 0, 0], categorySets: [null, null, null],
        missingLeft: [false, false, false], left: [1, -1, -1], right: [2, -1, -1], value: [0, -1, 1], gain: [1, 0, 0],
      };
      const model: GbdtModel = { kind: 'gbdt', task: 'regression', features: [{ name: 'x', kind: 'numeric' }], baseScore: 0, trees: [tree] };
      const probes = [threshold, nextDouble(threshold, -1), nextDouble(threshold, 1)];
      const { value } = await (await scorerFor(model)).score(probes.map((x) => ({ x })));
      expect(Array.from(value!), `threshold ${threshold}`).toEqual([-1, -1, 1]);
      expect(probes.map((x) => referenceGbdt(model, { x })), `threshold ${threshold}`).toEqual([-1, -1, 1]);
    }
  });

  it('when trees are random but valid, then onnxruntime matches the reference on rows with missing, unseen and at-threshold values', async () => {
    for (const [seed, task] of [[1, 'binary'], [2, 'regression'], [3, 'binary'], [4, 'regression']] as const) {
      const rand = seededRandom(seed);
      const model: GbdtModel = {
        kind: 'gbdt', task, features, baseScore: rand() - 0.5,
        trees: Array.from({ length: 30 }, () => randomTree(rand, 2 + Math.floor(rand() * 30))),
      };
      const rows = randomRows(rand, 2000);
      const scores = await (await scorerFor(model)).score(rows);
      const expected = rows.map((r) => referenceGbdt(model, r));
      if (task === 'binary') {
        let worst = 0;
        rows.forEach((_, i) => (worst = Math.max(worst, Math.abs(scores.probability![i] - expected[i]))));
        expect(worst, `seed ${seed}`).toBeLessThanOrEqual(1e-9);
        expect(Array.from(scores.label!)).toEqual(expected.map((p) => (p >= 0.5 ? 1 : 0)));
      } else {
        rows.forEach((_, i) => expect(Math.abs(scores.value![i] - expected[i])).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(expected[i]))));
      }
    }
  });

  it('when trees are single leaves or absent, then the prediction is the base score plus their values', async () => {
    const leaf: Tree = { feature: [-1], threshold: [0], categorySets: [null], missingLeft: [false], left: [-1], right: [-1], value: [0.25], gain: [0] };
    const withLeaves: GbdtModel = { kind: 'gbdt', task: 'regression', features, baseScore: 1, trees: [leaf, leaf, handTree] };
    const none: GbdtModel = { kind: 'gbdt', task: 'regression', features, baseScore: 1.5, trees: [] };
    const rows: RawRow[] = [{ x: 0, colour: 'green', z: 0 }, { x: null, colour: null, z: null }];
    expect(Array.from((await (await scorerFor(withLeaves)).score(rows)).value!)).toEqual([2.5, 3.5]);
    expect(Array.from((await (await scorerFor(none)).score(rows)).value!)).toEqual([1.5, 1.5]);
  });

  it('when a category set is empty, then every known category goes right and missing follows missingLeft', async () => {
    const tree: Tree = {
      feature: [1, -1, -1], threshold: [0, 0, 0], categorySets: [[], null, null],
      missingLeft: [true, false, false], left: [1, -1, -1], right: [2, -1, -1], value: [0, 1, 2], gain: [1, 0, 0],
    };
    const model: GbdtModel = { kind: 'gbdt', task: 'regression', features, baseScore: 0, trees: [tree] };
    const rows: RawRow[] = [{ colour: 'red' }, { colour: 'yellow' }, { colour: null }, { colour: 'nope' }];
    expect(Array.from((await (await scorerFor(model)).score(rows)).value!)).toEqual([2, 2, 1, 1]);
  });

  it('when a categorical feature has no categories, then every value is missing', async () => {
    const noCategories: GbdtModel = {
      kind: 'gbdt', task: 'regression', baseScore: 0,
      features: [{ name: 'shop', kind: 'categorical', categories: [] }],
      trees: [{ feature: [0, -1, -1], threshold: [0, 0, 0], categorySets: [[], null, null], missingLeft: [true, false, false], left: [1, -1, -1], right: [2, -1, -1], value: [0, 1, 2], gain: [1, 0, 0] }],
    };
    const { value } = await (await scorerFor(noCategories)).score([{ shop: 'a' }, { shop: null }]);
    expect(Array.from(value!)).toEqual([1, 1]);
  });

  it('rejects a tree that refers to a missing node or splits a categorical without a set', () => {
    const broken: Tree = { ...handTree, left: [1, 3, 99, -1, -1, -1, -1] };
    expect(() => exportModelToOnnx({ kind: 'gbdt', task: 'regression', features, baseScore: 0, trees: [broken] }, meta)).toThrow(/node 99/);
    const noSet: Tree = { ...handTree, categorySets: handTree.categorySets.map(() => null) };
    expect(() => exportModelToOnnx({ kind: 'gbdt', task: 'regression', features, baseScore: 0, trees: [noSet] }, meta)).toThrow(/category set/);
    const cyclic: Tree = { ...handTree, left: [1, 0, 5, -1, -1, -1, -1] };
    expect(() => exportModelToOnnx({ kind: 'gbdt', task: 'regression', features, baseScore: 0, trees: [cyclic] }, meta)).toThrow(/reached twice/);
  });

  it('when a model has 100 trees of 255 leaves, then it exports and loads (time printed, not asserted)', async () => {
    const rand = seededRandom(99);
    const model: GbdtModel = {
      kind: 'gbdt', task: 'binary', features, baseScore: 0.1,
      trees: Array.from({ length: 100 }, () => randomTree(rand, 255)),
    };
    const started = performance.now();
    const bytes = exportModelToOnnx(model, meta);
    const exported = performance.now();
    const session = await ort.InferenceSession.create(bytes);
    const loaded = performance.now();
    console.log(
      `100 trees x 255 leaves: ${(bytes.length / 1e6).toFixed(2)} MB, export ${(exported - started).toFixed(0)} ms, ` +
        `onnxruntime load ${(loaded - exported).toFixed(0)} ms`,
    );
    await session.release();
    const rows = randomRows(rand, 500);
    const scores = await (await scorerFor(model)).score(rows);
    rows.forEach((r, i) => expect(Math.abs(scores.probability![i] - referenceGbdt(model, r))).toBeLessThanOrEqual(1e-9));
  });
});

describe('exportModelToOnnx for linear models', () => {
  const linearFeatures: LinearModel['features'] = [
    { name: 'age', kind: 'numeric' },
    { name: 'city', kind: 'categorical', categories: ['paris', 'oslo', 'lima'] },
    { name: 'income', kind: 'numeric' },
    { name: 'plan', kind: 'categorical', categories: ['free', 'pro'] },
  ];
  const linear = (task: 'binary' | 'regression'): LinearModel => ({
    kind: 'linear', task, features: linearFeatures,
    numeric: [
      { name: 'age', mean: 40.5, std: 12.25, impute: 40.5 },
      { name: 'income', mean: 52_000.75, std: 18_000.5, impute: 52_000.75 },
    ],
    categorical: [
      { name: 'city', categories: ['paris', 'oslo', 'lima'] },
      { name: 'plan', categories: ['free', 'pro'] },
    ],
    weights: [0.8, -1.3, 0.25, -0.5, 1.1, -0.2, 0.7],
    intercept: -0.35,
  });
  const rand = seededRandom(7);
  const cities = ['paris', 'oslo', 'lima', 'tokyo', null];
  const rows: RawRow[] = Array.from({ length: 1000 }, () => ({
    age: rand() < 0.1 ? null : Math.round(18 + rand() * 60),
    city: cities[Math.floor(rand() * cities.length)],
    income: rand() < 0.1 ? Number.NaN : Math.round(rand() * 150_000),
    plan: rand() < 0.1 ? undefined : rand() < 0.5 ? 'free' : 'pro',
  }));

  it('when rows have missing numerics and unseen or missing categories, then probabilities match predictLinear', async () => {
    const model = linear('binary');
    const scores = await (await scorerFor(model)).score(rows);
    const expected = predictLinear(model, rows);
    let worst = 0;
    rows.forEach((_, i) => (worst = Math.max(worst, Math.abs(scores.probability![i] - expected[i]))));
    expect(worst).toBeLessThanOrEqual(1e-9);
    expect(Array.from(scores.label!)).toEqual(Array.from(expected, (p) => (p >= 0.5 ? 1 : 0)));
  });

  it('when the model is a regression, then values match predictLinear to 1e-9 relative', async () => {
    const model = linear('regression');
    const scores = await (await scorerFor(model)).score(rows);
    const expected = predictLinear(model, rows);
    rows.forEach((_, i) => expect(Math.abs(scores.value![i] - expected[i])).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(expected[i]))));
    // A hand-computed row: age 40.5 → 0, income missing → imputed mean → 0, lima → 1.1, pro → 0.7;
    // and one with age 53 → (53 - 40.5) / 12.25 · 0.8, unseen city → 0, missing plan → 0.
    const hand = await (await scorerFor(model)).score([
      { age: 40.5, city: 'lima', income: null, plan: 'pro' },
      { age: 53, city: 'tokyo', income: 52_000.75, plan: null },
    ]);
    expect(hand.value![0]).toBeCloseTo(-0.35 + 1.1 + 0.7, 12);
    expect(hand.value![1]).toBeCloseTo(-0.35 + ((53 - 40.5) / 12.25) * 0.8, 12);
  });

  it('when every category was dropped in training, then the intercept alone is predicted per row', async () => {
    const model: LinearModel = {
      kind: 'linear', task: 'regression', features: [{ name: 'city', kind: 'categorical', categories: [] }],
      numeric: [], categorical: [{ name: 'city', categories: [] }], weights: [], intercept: 2.5,
    };
    const { value } = await (await scorerFor(model)).score([{ city: 'oslo' }, { city: null }, { city: 'x' }]);
    expect(Array.from(value!)).toEqual([2.5, 2.5, 2.5]);
  });

  it('rejects a categorical feature that lists a category twice', () => {
    const twice: GbdtModel = {
      kind: 'gbdt', task: 'regression', baseScore: 0, trees: [],
      features: [{ name: 'colour', kind: 'categorical', categories: ['red', 'red'] }],
    };
    expect(() => exportModelToOnnx(twice, meta)).toThrow(/"colour".*twice/);
  });

  it('rejects a model whose weights do not match its encoding', () => {
    expect(() => exportModelToOnnx({ ...linear('binary'), weights: [1, 2] }, meta)).toThrow(/weights/);
  });
});

describe('ONNX model metadata and format', () => {
  const model: GbdtModel = { kind: 'gbdt', task: 'binary', features, baseScore: 0, trees: [handTree] };

  it('when exported, then readOnnxMetadata returns the feature schema, task, kind, snapshot, version and extras', () => {
    const bytes = exportModelToOnnx(model, { ...meta, extra: { 'keel.run_id': 'run-42', team: 'risk' } });
    const read = readOnnxMetadata(bytes);
    expect(read).toMatchObject({ task: 'binary', modelKind: 'gbdt', snapshotSha256: meta.snapshotSha256, keelVersion: '0.1.0' });
    expect(read.features).toEqual([
      { name: 'x', kind: 'numeric', input: 'x' },
      { name: 'colour', kind: 'categorical', categories: colours, input: 'colour' },
      { name: 'z', kind: 'numeric', input: 'z' },
    ]);
    expect(read.properties['keel.run_id']).toBe('run-42');
    expect(read.properties.team).toBe('risk');
  });

  it('when decoded, then the model declares IR version 10 and opsets 21 and ai.onnx.ml 5', () => {
    const decoded = decodeModelProto(exportModelToOnnx(model, meta)) as {
      irVersion: number; opsetImport: { domain?: string; version: number }[];
    };
    expect(decoded.irVersion).toBe(10);
    expect(decoded.opsetImport.map((o) => [o.domain ?? '', o.version])).toEqual([['', 21], ['ai.onnx.ml', 5]]);
  });

  it('rejects bytes that carry no Keel metadata', () => {
    expect(() => readOnnxMetadata(new Uint8Array([8, 10]))).toThrow(/keel\./);
  });

  it('when a feature is named like an output, then its input is renamed and scoring still works', async () => {
    const clash: GbdtModel = {
      kind: 'gbdt', task: 'regression', baseScore: 0,
      features: [{ name: 'value', kind: 'numeric' }],
      trees: [{ feature: [0, -1, -1], threshold: [1, 0, 0], categorySets: [null, null, null], missingLeft: [true, false, false], left: [1, -1, -1], right: [2, -1, -1], value: [0, 5, 7], gain: [1, 0, 0] }],
    };
    const scorer = await scorerFor(clash);
    expect(scorer.features[0]).toEqual({ name: 'value', kind: 'numeric', input: 'value_input' });
    expect(Array.from((await scorer.score([{ value: 1 }, { value: 2 }])).value!)).toEqual([5, 7]);
  });
});

describe('createOnnxScorer', () => {
  const model: GbdtModel = { kind: 'gbdt', task: 'binary', features, baseScore: -0.5, trees: [handTree] };

  it('rejects a row whose numeric feature is a string, naming the feature and row', async () => {
    const scorer = await scorerFor(model);
    const error = await scorer.score([{ x: 1, colour: 'red', z: 0 }, { x: '3', colour: 'red', z: 0 }]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OnnxInputError);
    expect(error).toMatchObject({ feature: 'x', rowIndex: 1 });
    expect((error as Error).message).toMatch(/"x"/);
  });

  it('rejects a row whose categorical feature is a number', async () => {
    const scorer = await scorerFor(model);
    await expect(scorer.score([{ x: 1, colour: 3, z: 0 }])).rejects.toMatchObject({ feature: 'colour' });
  });

  it('when given columns instead of rows, then the scores are the same', async () => {
    const scorer = await scorerFor(model);
    const rows = randomRows(seededRandom(5), 300);
    const columnar = {
      rowCount: rows.length,
      columns: {
        x: Float64Array.from(rows, (r) => (typeof r.x === 'number' ? r.x : Number.NaN)),
        colour: rows.map((r) => (typeof r.colour === 'string' ? r.colour : null)),
        z: Float64Array.from(rows, (r) => (typeof r.z === 'number' ? r.z : Number.NaN)),
      },
    };
    const fromRows = await scorer.score(rows);
    const fromColumns = await scorer.score(columnar);
    expect(fromColumns).toEqual(fromRows);
    expect(scorer.task).toBe('binary');
    expect(scorer.modelKind).toBe('gbdt');
  });

  it('when given no rows, then it returns empty arrays', async () => {
    const scorer = await scorerFor(model);
    expect(await scorer.score([])).toEqual({ probability: new Float64Array(0), label: new Int32Array(0) });
  });
});
