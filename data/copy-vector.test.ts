import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDuckDb, type DuckDbSession } from './duckdb-session.js';
import { copyVector } from './copy-vector.js';

let session: DuckDbSession;
beforeAll(async () => {
  session = await openDuckDb({ threads: 1 });
});
afterAll(() => session.close());

/** `sql`'s first column, chunk by chunk, copied into `target`. */
async function copyAll<T extends Float64Array | Int32Array | Uint8Array>(sql: string, target: T): Promise<T> {
  const result = await session.connection.stream(sql);
  let offset = 0;
  for (;;) {
    const chunk = await result.fetchChunk();
    if (!chunk || chunk.rowCount === 0) break;
    copyVector(chunk.getColumnVector(0), target, offset, chunk.rowCount);
    offset += chunk.rowCount;
  }
  expect(offset).toBe(target.length);
  return target;
}

describe('copyVector', () => {
  it('when the vector has the target type, then every chunk is copied whole, across chunk boundaries', async () => {
    for (const rows of [1, 2047, 2048, 2049, 5000]) {
      const doubles = await copyAll(`SELECT CASE x % 4 WHEN 0 THEN '-0'::DOUBLE WHEN 1 THEN 'NaN'::DOUBLE WHEN 2 THEN '-Infinity'::DOUBLE ELSE x / 3 END FROM range(${rows}) t(x)`, new Float64Array(rows));
      const expected = Array.from({ length: rows }, (_, x) => [-0, Number.NaN, -Infinity, x / 3][x % 4]!);
      expect(Array.from(doubles)).toEqual(expected);
      expect(Object.is(doubles[0], -0)).toBe(true);
      expect(Array.from(await copyAll(`SELECT (x - 1000)::INTEGER FROM range(${rows}) t(x)`, new Int32Array(rows)))).toEqual(Array.from({ length: rows }, (_, x) => x - 1000));
      expect(Array.from(await copyAll(`SELECT (x % 3)::UTINYINT FROM range(${rows}) t(x)`, new Uint8Array(rows)))).toEqual(Array.from({ length: rows }, (_, x) => x % 3));
    }
  });

  it('when the vector holds other numbers, then they are copied value by value (the fallback)', async () => {
    expect(Array.from(await copyAll('SELECT (x - 2)::SMALLINT FROM range(3000) t(x)', new Float64Array(3000)))).toEqual(Array.from({ length: 3000 }, (_, x) => x - 2));
    expect(Array.from(await copyAll('SELECT (x + 0.5)::FLOAT FROM range(3) t(x)', new Float64Array(3)))).toEqual([0.5, 1.5, 2.5]);
    expect(Array.from(await copyAll('SELECT x::DOUBLE FROM range(3) t(x)', new Int32Array(3)))).toEqual([0, 1, 2]);
  });

  it('when a type shares the typed array but not the meaning, then it is refused rather than copied as raw storage', async () => {
    // DATE is stored as an Int32Array of days, DECIMAL(9,2) as scaled Int32, BOOLEAN as a Uint8Array.
    await expect(copyAll(`SELECT DATE '2020-01-01' + x::INTEGER FROM range(3) t(x)`, new Int32Array(3))).rejects.toThrow(/DATE/);
    await expect(copyAll('SELECT (x + 0.25)::DECIMAL(9,2) FROM range(3) t(x)', new Int32Array(3))).rejects.toThrow(/DECIMAL/);
    await expect(copyAll('SELECT x % 2 = 0 FROM range(3) t(x)', new Uint8Array(3))).rejects.toThrow(/BOOLEAN/);
    await expect(copyAll('SELECT x::BIGINT FROM range(3) t(x)', new Float64Array(3))).rejects.toThrow(/BIGINT/);
  });

  it('when a value is NULL, then it is refused, not written as whatever the vector held there', async () => {
    await expect(copyAll('SELECT CASE WHEN x = 1 THEN NULL ELSE x END::SMALLINT FROM range(3) t(x)', new Float64Array(3))).rejects.toThrow(/row 1 .* NULL/);
  });
});
