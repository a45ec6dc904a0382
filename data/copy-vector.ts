// Reading a DuckDB result column into a typed array a chunk at a time, without a call per value where the node API
// allows it.
import { DuckDBTypeId, type DuckDBVector } from '@duckdb/node-api';

type NumberArray = Float64Array | Int32Array | Uint8Array;

/**
 * The DuckDB type whose vector holds exactly the target's numbers. Other types can share the typed array but not the
 * meaning (DATE is an Int32Array of days, DECIMAL(9,s) one of scaled integers, BOOLEAN a Uint8Array).
 */
function sameLayoutType(target: NumberArray): DuckDBTypeId {
  if (target instanceof Float64Array) return DuckDBTypeId.DOUBLE;
  if (target instanceof Int32Array) return DuckDBTypeId.INTEGER;
  return DuckDBTypeId.UTINYINT;
}

/**
 * Copies a chunk's column of numbers that are never NULL (the query maps NULL to a value) to `target[offset…]`. The
 * node API holds a fixed-width vector's data in a typed array (`items`, private in its types): copied with one `set`
 * when the vector's type stores the target's numbers, value by value otherwise (any type whose values are JS
 * numbers, e.g. SMALLINT or FLOAT into a Float64Array). Anything else (NULL, BIGINT, DATE, DECIMAL) is refused.
 */
export function copyVector(vector: DuckDBVector, target: NumberArray, offset: number, size: number): void {
  const items = (vector as unknown as { items?: unknown }).items;
  if (
    vector.type.typeId === sameLayoutType(target) &&
    ArrayBuffer.isView(items) &&
    items.constructor === target.constructor &&
    (items as NumberArray).length === size
  ) {
    target.set(items as NumberArray, offset);
    return;
  }
  for (let row = 0; row < size; row += 1) {
    const value = vector.getItem(row);
    if (typeof value !== 'number') {
      throw new TypeError(`row ${row} of a ${vector.type.toString()} vector is ${value === null ? 'NULL' : typeof value}, not a number`);
    }
    target[offset + row] = value;
  }
}
