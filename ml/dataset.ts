// The columnar training-data shape the trainers consume. The data plane fills it from a DuckDB/Parquet
// snapshot one column at a time, so training never materialises per-row objects.

/** A numeric column: one float per row, NaN = missing. */
export type NumericColumn = Float64Array;

/** A categorical column: one string per row, null = missing. */
export type CategoricalColumn = (string | null)[];

export type Column = NumericColumn | CategoricalColumn;

export interface ColumnarDataset {
  /** Number of rows; every column and the label have exactly this length. */
  rowCount: number;
  /** Feature columns by name. A Float64Array is a numeric feature, an array of strings/null a categorical one. */
  columns: Record<string, Column>;
  /**
   * Target per row: 0/1 for binary classification, any real for regression.
   * Optional for scoring-only data (prediction, validation of unlabeled rows).
   */
  label?: Float64Array;
}

export function isNumericColumn(column: Column): column is NumericColumn {
  return column instanceof Float64Array;
}

/** Throws when columns or the label disagree with `rowCount`, naming the offending column. */
export function assertConsistentDataset(data: ColumnarDataset): void {
  if (!Number.isInteger(data.rowCount) || data.rowCount < 0) {
    throw new RangeError(`rowCount must be a non-negative integer, got ${data.rowCount}`);
  }
  for (const [name, column] of Object.entries(data.columns)) {
    if (column.length !== data.rowCount) {
      throw new RangeError(`column "${name}" has ${column.length} values, expected ${data.rowCount}`);
    }
  }
  if (data.label !== undefined && data.label.length !== data.rowCount) {
    throw new RangeError(`label has ${data.label.length} values, expected ${data.rowCount}`);
  }
}

/** Rows [start, end) of a dataset as a new dataset (typed columns are copied, not aliased). */
export function sliceDataset(data: ColumnarDataset, start: number, end: number): ColumnarDataset {
  const columns: Record<string, Column> = {};
  for (const [name, column] of Object.entries(data.columns)) {
    columns[name] = column.slice(start, end);
  }
  return {
    rowCount: Math.max(0, Math.min(end, data.rowCount) - Math.max(0, start)),
    columns,
    label: data.label?.slice(start, end),
  };
}
