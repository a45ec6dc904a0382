// What an engineer may name as a dataset source, and the settings an admin controls around it.
import { createHash } from 'node:crypto';

export type FileFormat = 'csv' | 'parquet' | 'json' | 'ndjson';

export interface CsvOptions {
  /** Field delimiter; sniffed when absent. */
  delimiter?: string;
  /** Quote character; RFC 4180 `"` when absent, so an unbalanced quote is an error rather than data. */
  quote?: string;
  /** Whether the first line names the columns (default true). */
  header?: boolean;
  /** `,` for files written with decimal commas (often together with `;` delimiters). */
  decimalSeparator?: '.' | ',';
}

/** A run spec's DatasetSource (workflows/contracts/run-spec.ts) as the data plane reads it: kind decided, format options. */
export type ResolvedSource =
  | { kind: 'file'; path: string; format?: FileFormat; csv?: CsvOptions }
  | { kind: 'url'; url: string; format?: FileFormat; csv?: CsvOptions }
  | { kind: 'sql'; connection: string; query: string };

/** Admin-controlled settings (from config.ts: KEEL_DATA_ROOTS, KEEL_SQL_CONNECTIONS, …), passed in, never read from env here. */
export interface DataPlaneSettings {
  /** Local files must resolve (after symlinks) inside one of these directories. */
  dataRoots: string[];
  /** Scratch space for downloads, query extracts and snapshot files before they enter the artifact store. */
  workDir: string;
  /** Named Postgres connections: engineers pass a name, never a URL. */
  sqlConnections: Record<string, string>;
  /** Allow URLs that resolve to loopback, link-local or private addresses (default false). */
  allowPrivateUrls?: boolean;
  /** Private networks (CIDR) URL sources may reach even when `allowPrivateUrls` is off, e.g. an internal data server. */
  allowedPrivateNetworks?: string[];
  /** Extra CA certificates (PEM) trusted for https sources, e.g. an internal CA. */
  urlCaCertificates?: string[];
  /** Allow plain `http://` URLs (default false: `https://` only). */
  allowHttpUrls?: boolean;
  /** Largest download accepted, in bytes (default 2 GiB). */
  maxDownloadBytes?: number;
  /** Per-statement timeout for SQL sources (default 10 minutes). */
  sqlStatementTimeoutMs?: number;
  /** DuckDB `memory_limit` (e.g. `2GB`); DuckDB spills to `workDir` beyond it. */
  duckdbMemoryLimit?: string;
  /** DuckDB worker threads (default: DuckDB's own choice, one per core). */
  duckdbThreads?: number;
}

const EXTENSION_FORMATS: Record<string, FileFormat> = {
  '.csv': 'csv',
  '.tsv': 'csv',
  '.txt': 'csv',
  '.parquet': 'parquet',
  '.pq': 'parquet',
  '.json': 'json',
  '.ndjson': 'ndjson',
  '.jsonl': 'ndjson',
};

/** The declared format, else the one the name's extension implies (ignoring a URL's query string). */
export function formatFromName(name: string, declared?: FileFormat): FileFormat | undefined {
  if (declared) return declared;
  const base = name.split(/[?#]/)[0]!.toLowerCase();
  const dot = base.lastIndexOf('.');
  return dot < 0 ? undefined : EXTENSION_FORMATS[base.slice(dot)];
}

/** A stable identity of a source for the `datasets` table; a SQL source is its connection name and a hash of its query. */
export function describeSource(source: ResolvedSource): string {
  switch (source.kind) {
    case 'file':
      return `file:${source.path}`;
    case 'url':
      return `url:${source.url}`;
    case 'sql':
      return `sql:${source.connection}:${createHash('sha256').update(source.query.trim()).digest('hex').slice(0, 16)}`;
  }
}
