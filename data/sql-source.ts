// Extracts a SQL source from an admin-configured Postgres connection into a typed CSV file for DuckDB.
//
// The query runs in a READ ONLY, REPEATABLE READ transaction with a statement timeout, through a server-side
// cursor declared with the extended protocol (which refuses more than one statement), fetched in batches so a
// large result never sits in memory whole. Admins should still configure these connections with a read-only role.
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import pg from 'pg';
import { SourceNotAllowedError, SourceQueryRejectedError, SourceUnreadableError, firstLine } from './errors.js';

const BATCH_ROWS = 10_000;
const DEFAULT_TIMEOUT_MS = 10 * 60_000;

/** Postgres type OIDs → DuckDB column types; anything else is read as text. */
const DUCKDB_TYPE_BY_OID: Record<number, string> = {
  16: 'BOOLEAN',
  20: 'BIGINT',
  21: 'SMALLINT',
  23: 'INTEGER',
  700: 'FLOAT',
  701: 'DOUBLE',
  1700: 'DOUBLE',
  1082: 'DATE',
  1083: 'TIME',
  1114: 'TIMESTAMP',
  1184: 'TIMESTAMPTZ',
};

export interface SqlExtract {
  path: string;
  columns: { name: string; type: string }[];
  rowCount: number;
}

/** Removes comments, string literals and quoted identifiers so keywords and `;` can be inspected. */
export function stripSqlLiterals(sql: string): string {
  return sql
    .replace(/\/\*[\s\S]*?\*\//g, ' ')
    .replace(/--[^\n]*/g, ' ')
    .replace(/\$([A-Za-z_]\w*)?\$[\s\S]*?\$\1\$/g, "''")
    .replace(/'(?:[^']|'')*'/g, "''")
    .replace(/"(?:[^"]|"")*"/g, '""');
}

/** Refuses anything that does not look like one SELECT (or WITH … SELECT / VALUES / TABLE) before it reaches Postgres. */
export function checkSelectQuery(query: string): string {
  const text = query.trim().replace(/;\s*$/, '').trim();
  const bare = stripSqlLiterals(text);
  if (bare.includes(';')) {
    throw new SourceQueryRejectedError('the SQL source must be a single SELECT statement (found ";")', { query });
  }
  const firstWord = /^[\s(]*([A-Za-z]+)/.exec(bare)?.[1]?.toUpperCase();
  if (!firstWord || !['SELECT', 'WITH', 'VALUES', 'TABLE'].includes(firstWord)) {
    throw new SourceQueryRejectedError(
      `the SQL source must be a SELECT query, not ${firstWord ? firstWord : 'empty text'}`,
      { query },
    );
  }
  // Writable CTEs would also fail in the READ ONLY transaction; refusing them here gives the clearer message.
  if (firstWord === 'WITH' && /\b(INSERT|UPDATE|DELETE|MERGE)\b/i.test(bare)) {
    throw new SourceQueryRejectedError('the SQL source must not modify data (writable WITH clause)', { query });
  }
  return text;
}

function csvField(value: string | null): string {
  return value === null ? '' : `"${value.replaceAll('"', '""')}"`;
}

function classifyPgError(error: unknown, connection: string, query: string): Error {
  const code = (error as { code?: string }).code;
  // 25006 read-only transaction, 42601 syntax (incl. several commands in a prepared statement), 42501 privilege.
  if (code === '25006' || code === '42601' || code === '42501') {
    return new SourceQueryRejectedError(`the SQL source query was refused by ${connection}: ${firstLine(error)}`, {
      connection,
      query,
    });
  }
  return new SourceUnreadableError(`the SQL source query on ${connection} failed: ${firstLine(error)}`, {
    connection,
    query,
  });
}

const rawText = { getTypeParser: () => (value: string) => value };

/** Runs `query` on the named connection and streams the result into `destination` as CSV with a typed column list. */
export async function extractSqlSource(
  connectionName: string,
  query: string,
  destination: string,
  options: { connections: Record<string, string>; statementTimeoutMs?: number; signal?: AbortSignal },
): Promise<SqlExtract> {
  const url = Object.hasOwn(options.connections, connectionName) ? options.connections[connectionName] : undefined;
  if (!url) {
    throw new SourceNotAllowedError(`SQL connection ${JSON.stringify(connectionName)} is not configured by an admin`, {
      connection: connectionName,
    });
  }
  const text = checkSelectQuery(query);
  const client = new pg.Client({ connectionString: url, types: rawText });
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    throw new SourceUnreadableError(`SQL connection ${connectionName} is unreachable: ${firstLine(error)}`, {
      connection: connectionName,
    });
  }
  const out = createWriteStream(destination, { flags: 'wx' });
  let completed = false;
  // Closing the connection ends the server-side query too; the pending call then rejects.
  const abort = () => void client.end().catch(() => undefined);
  options.signal?.addEventListener('abort', abort);
  try {
    options.signal?.throwIfAborted();
    const timeout = Math.max(1, Math.floor(options.statementTimeoutMs ?? DEFAULT_TIMEOUT_MS));
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    await client.query(`SET LOCAL statement_timeout = ${timeout}`);
    try {
      await client.query({ text: `DECLARE keel_extract NO SCROLL CURSOR FOR ${text}`, queryMode: 'extended' } as pg.QueryConfig);
    } catch (error) {
      throw classifyPgError(error, connectionName, query);
    }
    let columns: SqlExtract['columns'] | undefined;
    let rowCount = 0;
    for (;;) {
      let batch: pg.QueryArrayResult<(string | null)[]>;
      try {
        batch = await client.query({ text: `FETCH ${BATCH_ROWS} FROM keel_extract`, rowMode: 'array' });
      } catch (error) {
        throw classifyPgError(error, connectionName, query);
      }
      if (!columns) {
        columns = batch.fields.map((field) => ({ name: field.name, type: DUCKDB_TYPE_BY_OID[field.dataTypeID] ?? 'VARCHAR' }));
        if (new Set(columns.map((column) => column.name)).size !== columns.length) {
          throw new SourceQueryRejectedError('the SQL source query returns duplicate column names', { query });
        }
        if (!out.write(`${columns.map((column) => csvField(column.name)).join(',')}\n`)) await once(out, 'drain');
      }
      if (batch.rows.length === 0) break;
      const lines = batch.rows.map((row) => row.map(csvField).join(',')).join('\n');
      if (!out.write(`${lines}\n`)) await once(out, 'drain');
      rowCount += batch.rows.length;
      if (batch.rows.length < BATCH_ROWS) break;
    }
    await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
    completed = true;
    return { path: destination, columns: columns ?? [], rowCount };
  } catch (error) {
    options.signal?.throwIfAborted();
    throw error;
  } finally {
    options.signal?.removeEventListener('abort', abort);
    await client.query('ROLLBACK').catch(() => undefined);
    await client.end().catch(() => undefined);
    if (!completed) {
      out.destroy();
      await rm(destination, { force: true });
    }
  }
}
