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

const sameRow = (a: readonly unknown[], b: readonly unknown[]) => a.length === b.length && a.every((value, i) => Object.is(value, b[i]));

/**
 * The sample check: `rows` through the transform one at a time must give, concatenated, exactly what one batch
 * of all of them gives. Aggregates, DISTINCT, LIMIT and random() fail it on any sample with varied rows.
 */
export async function checkRowWiseOnSample(session: RowTransformSession, rows: readonly SourceValue[][]): Promise<RowWiseVerdict> {
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
