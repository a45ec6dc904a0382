// A fresh in-memory DuckDB per operation: settings locked for one untrusted transform never leak into another.
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';

export interface DuckDbOptions {
  memoryLimit?: string;
  threads?: number;
  /** Where DuckDB spills when a query outgrows `memoryLimit`. */
  tempDirectory?: string;
}

export interface DuckDbSession {
  connection: DuckDBConnection;
  close(): void;
}

export async function openDuckDb(options: DuckDbOptions = {}): Promise<DuckDbSession> {
  const config: Record<string, string> = {
    // Keel downloads sources itself (with address checks); DuckDB must never fetch or install anything.
    autoinstall_known_extensions: 'false',
    autoload_known_extensions: 'false',
  };
  if (options.memoryLimit) config.memory_limit = options.memoryLimit;
  if (options.threads) config.threads = String(options.threads);
  if (options.tempDirectory) config.temp_directory = options.tempDirectory;
  const instance = await DuckDBInstance.create(':memory:', config);
  const connection = await instance.connect();
  return {
    connection,
    close() {
      connection.closeSync();
      instance.closeSync();
    },
  };
}
