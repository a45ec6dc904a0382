// The one place that reads process.env: every setting has a doc, a default and an env name.
import path from 'node:path';

export interface KeelConfig {
  /** Root of all local state (Postgres data, Temporal SQLite file, artifacts). */
  dataDir: string;
  /** HTTP port of the API. */
  port: number;
  /** Host the API binds to. */
  host: string;
  /** Existing Temporal frontend (host:port); undefined → start the embedded dev server. */
  temporalAddress: string | undefined;
  temporalNamespace: string;
  /** gRPC port of the embedded Temporal dev server. */
  temporalPort: number;
  /** Web UI port of the embedded Temporal dev server. */
  temporalUiPort: number;
  /** Existing Postgres; undefined → start embedded Postgres. */
  databaseUrl: string | undefined;
  /** Port of the embedded Postgres. */
  embeddedPostgresPort: number;
  /** Admin API key to install on first start; undefined → one is generated and printed once. */
  adminKey: string | undefined;
  /** Folders local dataset paths must resolve into. */
  dataRoots: string[];
  /** Admin-configured SQL sources: name → Postgres URL. */
  sqlConnections: Record<string, string>;
  /** Allow dataset URLs that resolve to loopback/private/link-local addresses. */
  allowPrivateUrls: boolean;
  /** Allow plain http:// dataset URLs (default: https only). */
  allowHttpUrls: boolean;
  /** Private networks (CIDR) dataset URLs may reach even when private addresses are refused. */
  allowedPrivateNetworks: string[];
  /** DuckDB memory_limit per session (e.g. `2GB`); DuckDB spills to disk beyond it. */
  duckdbMemoryLimit: string;
  /** Where artifacts (snapshots, models) live. */
  artifactDir: string;
  /** Log level for pino. */
  logLevel: string;
  /** Start the demo run when the stack boots on an empty data directory. */
  demo: boolean;
  /** Task queue names; change them to isolate environments that share a Temporal namespace. */
  taskQueues: { pipeline: string; training: string };
  /** Most prediction log rows held in memory before predict answers 503 (at least 1000, one full request). */
  predictionBufferRows: number;
  /** Longest a logged prediction waits in memory before its batch is written. */
  predictionFlushMs: number;
  /** Daily prediction log partitions older than this are dropped. */
  predictionRetentionDays: number;
}

export class ConfigError extends Error {
  constructor(envName: string, problem: string) {
    super(`invalid configuration: ${envName} ${problem}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

function readPort(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > 65535) {
    throw new ConfigError(name, `must be a port number (0-65535), got "${raw}"`);
  }
  return value;
}

function readBoolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (['1', 'true', 'yes', 'on'].includes(raw.toLowerCase())) return true;
  if (['0', 'false', 'no', 'off'].includes(raw.toLowerCase())) return false;
  throw new ConfigError(name, `must be true or false, got "${raw}"`);
}

function readConnections(env: Env, name: string): Record<string, string> {
  const raw = env[name];
  if (raw === undefined || raw === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new ConfigError(name, 'must be a JSON object mapping connection names to postgres:// URLs');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigError(name, 'must be a JSON object mapping connection names to postgres:// URLs');
  }
  const result: Record<string, string> = {};
  for (const [key, value] of Object.entries(parsed)) {
    if (typeof value !== 'string' || !/^postgres(ql)?:\/\//.test(value)) {
      throw new ConfigError(name, `entry "${key}" must be a postgres:// URL`);
    }
    result[key] = value;
  }
  return result;
}

function readCidrList(env: Env, name: string): string[] {
  const raw = nonEmpty(env[name]);
  if (raw === undefined) return [];
  return raw.split(',').map((entry) => {
    const cidr = entry.trim();
    if (!/^([0-9.]+|[0-9a-fA-F:]+)\/\d{1,3}$/.test(cidr)) {
      throw new ConfigError(name, `must be a comma-separated list of CIDR networks such as 10.1.0.0/16, got "${cidr}"`);
    }
    return cidr;
  });
}

function readMemoryLimit(env: Env, name: string, fallback: string): string {
  const raw = nonEmpty(env[name]) ?? fallback;
  if (!/^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/i.test(raw)) {
    throw new ConfigError(name, `must be a size such as 2GB or 512MiB, got "${raw}"`);
  }
  return raw;
}

function readInteger(env: Env, name: string, fallback: number, min: number): number {
  const raw = nonEmpty(env[name]);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) throw new ConfigError(name, `must be an integer >= ${min}, got "${raw}"`);
  return value;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

export function loadConfig(env: Env = process.env): KeelConfig {
  const dataDir = path.resolve(nonEmpty(env.KEEL_DATA_DIR) ?? './.keel');
  const dataRoots = (nonEmpty(env.KEEL_DATA_ROOTS) ?? path.join(dataDir, 'datasets'))
    .split(':')
    .filter((root) => root !== '')
    .map((root) => path.resolve(root));
  const adminKey = nonEmpty(env.KEEL_ADMIN_KEY);
  if (adminKey !== undefined && adminKey.length < 16) {
    throw new ConfigError('KEEL_ADMIN_KEY', 'must be at least 16 characters');
  }
  return {
    dataDir,
    port: readPort(env, 'PORT', 3000),
    host: nonEmpty(env.HOST) ?? '0.0.0.0',
    temporalAddress: nonEmpty(env.TEMPORAL_ADDRESS),
    temporalNamespace: nonEmpty(env.TEMPORAL_NAMESPACE) ?? 'default',
    temporalPort: readPort(env, 'KEEL_TEMPORAL_PORT', 7233),
    temporalUiPort: readPort(env, 'KEEL_TEMPORAL_UI_PORT', 8233),
    databaseUrl: nonEmpty(env.DATABASE_URL),
    embeddedPostgresPort: readPort(env, 'KEEL_POSTGRES_PORT', 5433),
    adminKey,
    dataRoots,
    sqlConnections: readConnections(env, 'KEEL_SQL_CONNECTIONS'),
    allowPrivateUrls: readBoolean(env, 'KEEL_ALLOW_PRIVATE_URLS', false),
    allowHttpUrls: readBoolean(env, 'KEEL_ALLOW_HTTP_URLS', false),
    allowedPrivateNetworks: readCidrList(env, 'KEEL_ALLOWED_PRIVATE_NETWORKS'),
    duckdbMemoryLimit: readMemoryLimit(env, 'KEEL_DUCKDB_MEMORY_LIMIT', '4GB'),
    artifactDir: path.resolve(nonEmpty(env.KEEL_ARTIFACT_DIR) ?? path.join(dataDir, 'artifacts')),
    logLevel: nonEmpty(env.LOG_LEVEL) ?? 'info',
    demo: readBoolean(env, 'KEEL_DEMO', true),
    taskQueues: {
      pipeline: nonEmpty(env.KEEL_PIPELINE_TASK_QUEUE) ?? 'pipeline',
      training: nonEmpty(env.KEEL_TRAINING_TASK_QUEUE) ?? 'training',
    },
    predictionBufferRows: readInteger(env, 'KEEL_PREDICTION_BUFFER_ROWS', 100_000, 1000),
    predictionFlushMs: readInteger(env, 'KEEL_PREDICTION_FLUSH_MS', 200, 1),
    predictionRetentionDays: readInteger(env, 'KEEL_PREDICTION_RETENTION_DAYS', 30, 1),
  };
}
