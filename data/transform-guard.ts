// Feature SQL must be exactly one SELECT: checked by DuckDB's own parser, not by pattern matching.
import { StatementType, type DuckDBConnection } from '@duckdb/node-api';
import { TransformRejectedError, firstLine } from './errors.js';
import { quoteString } from './sql-literal.js';

/** The transform without trailing semicolons/whitespace, after proving it is a single SELECT statement. */
export async function checkedTransform(connection: DuckDBConnection, transform: string): Promise<string> {
  const text = transform.trim().replace(/;\s*$/, '').trim();
  if (text.length === 0) throw new TransformRejectedError('the transform is empty');
  let count: number;
  try {
    count = (await connection.extractStatements(text)).count;
  } catch (error) {
    throw new TransformRejectedError(`the transform is not valid SQL: ${firstLine(error)}`);
  }
  if (count !== 1) {
    throw new TransformRejectedError(`the transform must be a single SELECT statement, found ${count} statements`);
  }
  // json_serialize_sql parses without binding and only serializes SELECT statements.
  const serialized = await connection.runAndReadAll(`SELECT json_serialize_sql(${quoteString(text)})`);
  const parsed = JSON.parse(String(serialized.getRowsJS()[0]![0])) as { error: boolean; error_message?: string };
  if (parsed.error) {
    throw new TransformRejectedError(`the transform must be a SELECT statement: ${parsed.error_message ?? 'rejected'}`);
  }
  let statementType: StatementType;
  try {
    const prepared = await connection.prepare(text);
    statementType = prepared.statementType;
    prepared.destroySync();
  } catch (error) {
    throw new TransformRejectedError(`the transform cannot run: ${firstLine(error)}`);
  }
  if (statementType !== StatementType.SELECT) {
    throw new TransformRejectedError(`the transform must be a SELECT statement (got statement type ${StatementType[statementType]})`);
  }
  return text;
}
