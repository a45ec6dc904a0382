import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelSplit } from '../workflows/contracts/split.js';
import { openDuckDb } from './duckdb-session.js';
import { assignSplit, PART_CODES } from './split-assignment.js';

let dir: string;
let files = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'keel-split-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Writes `sql` as a Parquet snapshot (row groups of `rowGroupSize` rows when given). */
async function snapshot(sql: string, rowGroupSize?: number): Promise<string> {
  const file = join(dir, `s${files++}.parquet`);
  const session = await openDuckDb({ threads: 1 });
  try {
    await session.connection.run(`COPY (${sql}) TO '${file}' (FORMAT parquet${rowGroupSize === undefined ? '' : `, ROW_GROUP_SIZE ${rowGroupSize}`})`);
  } finally {
    session.close();
  }
  return file;
}

/** Row i: an id, a customer (group), a day, a feature and a label, all from i. */
const rows = (from: number, to: number, order = 'i') => `
  SELECT i AS id, 'c' || (i % 97) AS customer, DATE '2024-01-01' + CAST(i // 10 AS INTEGER) AS day,
         (i * 7919 % 1000) / 1000.0 AS x, CAST(i % 3 = 0 AS INTEGER) AS y
  FROM range(${from}, ${to}) t(i) ORDER BY ${order}`;

const columns = { target: 'y', features: ['x', 'customer', 'day'] };
const salted = (spec: ModelSplit['spec'], salt = 'salt-a'): ModelSplit => ({ spec, salt });

/** Part of each row, keyed by its id column (read independently of the split code). */
async function partsById(path: string, split: ModelSplit): Promise<Map<number, number>> {
  const { codes } = await assignSplit(path, split, columns);
  const session = await openDuckDb({ threads: 1 });
  try {
    const ids = (await session.connection.runAndReadAll(`SELECT id FROM read_parquet('${path}')`)).getRowsJS().map((r) => Number(r[0]));
    return new Map(ids.map((id, row) => [id, codes[row]!]));
  } finally {
    session.close();
  }
}

describe('stable split assignment', () => {
  it.each([
    ['a hash of the row content', { kind: 'hash' as const }],
    ['a declared key', { kind: 'hash' as const, key: 'id' }],
    ['groups', { kind: 'group' as const, column: 'customer' }],
  ])('when rows are added and reordered, then every row keeps its part (%s)', async (_, spec) => {
    const first = await partsById(await snapshot(rows(0, 3000)), salted(spec));
    const grown = await partsById(await snapshot(rows(0, 4000, 'x DESC, i')), salted(spec));
    for (const [id, part] of first) expect(grown.get(id)).toBe(part);
    const counts = [0, 0, 0];
    for (const part of grown.values()) counts[part]! += 1;
    // Groups move in blocks of ~40 rows, so their shares are noisier than rows'.
    expect(counts[PART_CODES.holdout]! / 4000).toBeGreaterThan(spec.kind === 'group' ? 0.1 : 0.17);
    expect(counts[PART_CODES.holdout]! / 4000).toBeLessThan(spec.kind === 'group' ? 0.3 : 0.23);
    expect(counts[PART_CODES.valid]).toBeGreaterThan(0);
  });

  it('when the salt differs, then the rows are split differently (salts are per model)', async () => {
    const path = await snapshot(rows(0, 2000));
    const a = await assignSplit(path, salted({ kind: 'hash' }, 'salt-a'), columns);
    const b = await assignSplit(path, salted({ kind: 'hash' }, 'salt-b'), columns);
    const differing = a.codes.filter((code, row) => code !== b.codes[row]).length;
    expect(differing).toBeGreaterThan(400);
  });

  it('when the split is by group, then no group is in two parts', async () => {
    const parts = await partsById(await snapshot(rows(0, 3000)), salted({ kind: 'group', column: 'customer' }));
    const partOfCustomer = new Map<string, number>();
    for (const [id, part] of parts) {
      const customer = `c${id % 97}`;
      expect(partOfCustomer.get(customer) ?? part).toBe(part);
      partOfCustomer.set(customer, part);
    }
    expect(new Set(partOfCustomer.values()).size).toBe(3);
  });

  it('when the split is by time, then the newest 20% are the holdout and the next newest 10% the validation rows', async () => {
    const path = await snapshot(rows(0, 3000, 'x'));
    const { resolved } = await assignSplit(path, salted({ kind: 'time', column: 'day' }), columns);
    const parts = await partsById(path, salted({ kind: 'time', column: 'day' }));
    // day = 2024-01-01 + id // 10, so newer rows have larger ids: parts must be ordered by id, ties kept together.
    const byId = [...parts].sort((a, b) => a[0] - b[0]).map(([, part]) => part);
    for (let i = 1; i < byId.length; i++) expect(byId[i]!).toBeGreaterThanOrEqual(byId[i - 1]!);
    const holdout = byId.filter((part) => part === 2).length;
    const valid = byId.filter((part) => part === 1).length;
    expect(holdout / 3000).toBeCloseTo(0.2, 1);
    expect(valid / 3000).toBeCloseTo(0.1, 1);
    const firstHoldoutId = byId.indexOf(2);
    expect(firstHoldoutId % 10).toBe(0);
    expect(resolved).toMatchObject({ kind: 'time', column: 'day', holdoutFrom: Date.UTC(2024, 0, 1 + firstHoldoutId / 10) / 1000 });
  });

  it('when holdoutFrom is given, then exactly the rows at or after it are the holdout, whatever the snapshot holds', async () => {
    const spec = { kind: 'time' as const, column: 'day', holdoutFrom: '2024-08-01' };
    const small = await partsById(await snapshot(rows(0, 2500)), salted(spec));
    const grown = await partsById(await snapshot(rows(0, 4000)), salted(spec));
    const firstHoldoutId = ((Date.UTC(2024, 7, 1) - Date.UTC(2024, 0, 1)) / 86_400_000) * 10;
    for (const [id, part] of grown) expect(part === 2).toBe(id >= firstHoldoutId);
    for (const [id, part] of small) if (part === 2) expect(grown.get(id)).toBe(2);
  });

  it('refuses a time column with missing values and a key that is not in the snapshot, naming the column', async () => {
    const path = await snapshot(`SELECT * REPLACE (CASE WHEN id = 5 THEN NULL ELSE day END AS day) FROM (${rows(0, 100)})`);
    await expect(assignSplit(path, salted({ kind: 'time', column: 'day' }), columns)).rejects.toMatchObject({
      code: 'TRAINING_FAILED',
      message: 'time split column "day" is missing in 1 rows; drop or fill them',
    });
    await expect(assignSplit(path, salted({ kind: 'hash', key: 'nope' }), columns)).rejects.toMatchObject({
      code: 'TRAINING_FAILED',
      message: 'split column "nope" is not in the snapshot',
    });
  });

  it('when DuckDB hashes with several threads, then every row gets the part it gets with one (row order is kept)', async () => {
    // Many row groups, so the threads really scan different parts of the file at once.
    const path = await snapshot(rows(0, 60_000), 2048);
    const one = await assignSplit(path, salted({ kind: 'hash' }), columns, undefined, { threads: 1 });
    const four = await assignSplit(path, salted({ kind: 'hash' }), columns, undefined, { threads: 4 });
    expect(four.codes).toHaveLength(60_000);
    expect(Buffer.from(four.codes).equals(Buffer.from(one.codes))).toBe(true);
    expect(four.parts.holdout.length).toBeGreaterThan(10_000);
  });

  it('when its signal is aborted, then the assignment stops and throws the reason', async () => {
    const path = await snapshot(rows(0, 5000));
    const controller = new AbortController();
    controller.abort(new Error('training cancelled'));
    await expect(assignSplit(path, salted({ kind: 'hash' }), columns, undefined, { signal: controller.signal })).rejects.toThrow('training cancelled');
    // The same snapshot without a signal still assigns every row.
    expect((await assignSplit(path, salted({ kind: 'hash' }), columns)).codes).toHaveLength(5000);
  });
});
