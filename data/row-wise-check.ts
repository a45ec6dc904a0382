// Can a transform be served one request row at a time? Only when each output row depends on its own input row.
// Two checks: DuckDB's parse tree (window functions, GROUP BY, DISTINCT, LIMIT, set operations, joins to named
// inputs), then the transform run on sample rows one at a time and as one batch, which must agree.
import { openDuckDb } from './duckdb-session.js';
import { quoteString } from './sql-literal.js';
import type { FeatureValue, RowTransformSession, SourceValue } from './row-transform-session.js';

export interface RowWiseVerdict {
  rowWise: boolean;
  reason?: string;
  checkedRows: number;
}

type Node = Record<string, unknown>;

/** Every construct in the parsed statement that makes a row's output depend on other rows. */
function rowDependentConstructs(tree: unknown, namedSources: ReadonlySet<string>): string[] {
  const found = new Set<string>();
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) {
      value.forEach(visit);
      return;
    }
    if (value === null || typeof value !== 'object') return;
    const node = value as Node;
    if (node.class === 'WINDOW') found.add(`window function ${String(node.function_name ?? '')}()`.trim());
    if (node.type === 'LIMIT_MODIFIER' || node.type === 'LIMIT_PERCENT_MODIFIER') found.add('LIMIT');
    if (node.type === 'DISTINCT_MODIFIER') found.add('DISTINCT');
    if (node.type === 'SET_OPERATION_NODE') found.add(`set operation ${String(node.setop_type ?? '')}`.trim());
    if (Array.isArray(node.group_expressions) && node.group_expressions.length > 0) found.add('GROUP BY');
    if (node.having) found.add('HAVING');
    if (node.qualify) found.add('QUALIFY');
    if (node.type === 'SELECT_NODE' && node.sample) found.add('USING SAMPLE');
    if (node.type === 'BASE_TABLE' && typeof node.table_name === 'string' && namedSources.has(node.table_name.toLowerCase())) {
      found.add(`a join to the named input "${node.table_name}" (named inputs are not served)`);
    }
    Object.values(node).forEach(visit);
  };
  visit(tree);
  return [...found];
}

/** The parse-tree check alone: constructs that cannot be served row by row, empty when none. */
export async function parseTreeFindings(transform: string, namedSources: readonly string[]): Promise<string[]> {
  const session = await openDuckDb({ threads: 1 });
  try {
    const reader = await session.connection.runAndReadAll(`SELECT json_serialize_sql(${quoteString(transform)})`);
    const tree = JSON.parse(String(reader.getRowsJS()[0]![0])) as { error?: boolean; error_message?: string };
    if (tree.error) return [`the transform could not be parsed: ${tree.error_message ?? 'unknown error'}`];
    return rowDependentConstructs(tree, new Set(namedSources.map((name) => name.toLowerCase())));
  } finally {
    session.close();
  }
}

// Functions that turn one row into several (in the select list or in FROM).
const ROW_MULTIPLYING_FUNCTIONS = new Set(['unnest', 'generate_subscripts']);

/**
 * Whether the transform's output rows are its input rows, in order, one for one (or fewer, when WHERE drops
 * some): a single SELECT whose FROM is one table, with no join, subquery, table function, unnest or ORDER BY.
 * Only then may a batch's output rows be matched to its input rows by position; a join may reorder rows and
 * unnest may turn one row into two, silently handing a row another row's features.
 */
export function keepsRowsInPlace(tree: unknown): boolean {
  const statements = (tree as { error?: boolean; statements?: Array<{ node?: Node }> }).statements;
  const node = statements?.length === 1 ? statements[0]!.node : undefined;
  if (!node || node.type !== 'SELECT_NODE' || (node.from_table as Node | undefined)?.type !== 'BASE_TABLE') return false;
  if (Array.isArray(node.modifiers) && node.modifiers.some((modifier: Node) => modifier.type === 'ORDER_MODIFIER')) return false;
  let inPlace = true;
  const visit = (value: unknown): void => {
    if (!inPlace || value === null || typeof value !== 'object') return;
    if (Array.isArray(value)) {
      value.forEach(visit);
      return;
    }
    const child = value as Node;
    if (child.type === 'SUBQUERY' || child.type === 'JOIN' || child.type === 'TABLE_FUNCTION' || child.type === 'EXPRESSION_LIST') inPlace = false;
    if (child.class === 'FUNCTION' && ROW_MULTIPLYING_FUNCTIONS.has(String(child.function_name).toLowerCase())) inPlace = false;
    Object.values(child).forEach(visit);
  };
  visit(node);
  return inPlace;
}

const sameRow = (a: readonly unknown[], b: readonly unknown[]) => a.length === b.length && a.every((value, i) => Object.is(value, b[i]));

/**
 * Sample rows the check runs one at a time: each is its own DuckDB execution (~0.7 ms of CPU), and 20 runs evaluated
 * at once spent ~13 s of one thread on 1,000 each; a dependence on other rows shows on a few hundred varied rows.
 */
export const ROW_WISE_CHECK_ROWS = 256;

/**
 * The sample rows the check runs, at most ROW_WISE_CHECK_ROWS of them in sample order: first, per source column, a
 * row where it is NULL, then one where it is smallest and one where it is largest, then the sample's first rows. A
 * dependence can show on one rare row only (mean imputation `coalesce(x, (SELECT avg(x) FROM source))` differs only
 * on a row whose x is NULL), so those rows are not left to where they fall in the sample.
 */
export function rowsToCheck(sample: readonly SourceValue[][]): SourceValue[][] {
  if (sample.length <= ROW_WISE_CHECK_ROWS) return [...sample];
  const picked = new Set<number>();
  const pick = (row: number) => {
    if (row >= 0 && picked.size < ROW_WISE_CHECK_ROWS) picked.add(row);
  };
  const columns = sample[0]!.length;
  const extremes: number[] = [];
  for (let column = 0; column < columns; column++) {
    let nullRow = -1;
    let smallest = -1;
    let largest = -1;
    for (let row = 0; row < sample.length; row++) {
      const value = sample[row]![column];
      if (value === null || value === undefined) {
        if (nullRow < 0) nullRow = row;
      } else {
        if (smallest < 0 || value < sample[smallest]![column]!) smallest = row;
        if (largest < 0 || value > sample[largest]![column]!) largest = row;
      }
    }
    pick(nullRow);
    extremes.push(smallest, largest);
  }
  extremes.forEach(pick);
  for (let row = 0; row < sample.length; row++) pick(row);
  return [...picked].sort((a, b) => a - b).map((row) => sample[row]!);
}

/**
 * The sample check: `rowsToCheck(sample)` through the transform one at a time must give, concatenated, exactly what
 * one batch of the same rows gives. Aggregates, DISTINCT, LIMIT and random() fail it on any sample with varied rows.
 */
export async function checkRowWiseOnSample(session: RowTransformSession, sample: readonly SourceValue[][]): Promise<RowWiseVerdict> {
  const rows = rowsToCheck(sample);
  const single: FeatureValue[][] = [];
  for (const row of rows) single.push(...(await session.transformRows([row]))[0]!);
  const batch = await session.transformBatch(rows);
  if (single.length !== batch.length) {
    return {
      rowWise: false,
      reason: `its output for a row depends on other rows: ${rows.length} sample rows gave ${batch.length} feature rows as one batch but ${single.length} one at a time`,
      checkedRows: rows.length,
    };
  }
  const differs = batch.findIndex((row, index) => !sameRow(row, single[index]!));
  if (differs >= 0) {
    return {
      rowWise: false,
      reason: `its output for a row depends on other rows (or is not deterministic): feature row ${differs} differs between one batch of ${rows.length} sample rows and one row at a time`,
      checkedRows: rows.length,
    };
  }
  return { rowWise: true, checkedRows: rows.length };
}
