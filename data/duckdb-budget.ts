// How much memory and how many threads one DuckDB session of a worker gets, so the sessions the worker may run at
// once (its concurrent ingests and validations) fit the worker's budget together instead of each taking 4 GB.

export interface DuckDbBudgetInput {
  /** The per-session cap (KEEL_DUCKDB_MEMORY_LIMIT), a DuckDB size such as 4GB or 512MiB. */
  sessionMemoryLimit: string;
  /** What all sessions together may use (KEEL_DUCKDB_MEMORY_BUDGET); unset: half of `totalMemoryBytes`. */
  memoryBudget?: string;
  /** Threads per session (KEEL_DUCKDB_THREADS); unset: the cores shared among the sessions, at least 1. */
  threads?: number;
  /** Sessions the worker runs at once at most. */
  concurrentSessions: number;
  totalMemoryBytes: number;
  cores: number;
}

export interface DuckDbSessionBudget {
  /** DuckDB's `memory_limit` for each session; beyond it a session spills to its temp directory. */
  memoryLimit: string;
  /** DuckDB's `threads` for each session. */
  threads: number;
}

const UNIT_BYTES: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
};

/** Bytes of a DuckDB size ("4GB" is 4·10⁹ bytes, "4GiB" 4·2³⁰, as DuckDB reads them). */
export function sizeInBytes(size: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]+)$/i.exec(size.trim());
  const unit = match ? UNIT_BYTES[match[2]!.toLowerCase()] : undefined;
  if (!match || unit === undefined) throw new Error(`not a size: "${size}" (e.g. 2GB or 512MiB)`);
  return Math.floor(Number(match[1]) * unit);
}

export function duckDbSessionBudget(input: DuckDbBudgetInput): DuckDbSessionBudget {
  const sessions = Math.max(1, input.concurrentSessions);
  const budgetBytes = input.memoryBudget !== undefined ? sizeInBytes(input.memoryBudget) : Math.floor(input.totalMemoryBytes / 2);
  const shareBytes = Math.floor(budgetBytes / sessions);
  const memoryLimit =
    shareBytes < sizeInBytes(input.sessionMemoryLimit) ? `${Math.max(1, Math.floor(shareBytes / 2 ** 20))}MiB` : input.sessionMemoryLimit;
  const threads = input.threads ?? Math.max(1, Math.floor(input.cores / sessions));
  return { memoryLimit, threads };
}
