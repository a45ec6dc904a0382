// Reading a DuckDB result column into a typed array a chunk at a time, without a call per value where the node API
// allows it.
import type { DuckDBVector } from '@duckdb/node-api';

type NumberArray = Float64Array | Int32Array | Uint8Array;

/**
 * Copies a chunk's column of numbers that are never NULL (the query maps NULL to a value) to `target[offset…]`. The
 * node API holds a fixed-width vector's data in a typed array (`items`, private in its types): copied with one `set`
 * when it has the target's type, value by value otherwise.
 */
export function copyVector(vector: DuckDBVector, target: NumberArray, offset: number, size: number): void {
  const items = (vector as unknown as { items?: unknown }).items;
  if (ArrayBuffer.isView(items) && items.constructor === target.constructor && (items as NumberArray).length === size) {
    target.set(items as NumberArray, offset);
    return;
  }
  for (let row = 0; row < size; row += 1) target[offset + row] = vector.getItem(row) as number;
}
