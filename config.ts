// The one place that reads process.env. Every setting is one entry of SETTINGS (env name, type, default, one-line
// doc, parser); loadConfig builds the typed config from them at start and names the variable of any bad value.
// README's configuration table lists the same entries (config.test.ts fails when the two differ).
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KeelError } from './errors/keel-error.js';

type Env = Record<string, string | undefined>;

export class ConfigError extends KeelError {
  constructor(envName: string, problem: string) {
    super('CONFIG_INVALID', `invalid configuration: ${envName} ${problem}`, { env: envName });
  }
}

/** What a parser knows besides its own value: its variable (for messages) and the settings others default from. */
export interface ParseContext {
  env: string;
  dataDir: string;
}

export interface Setting<T> {
  /** The environment variable. */
  env: string;
  /** What a value looks like. */
  type: string;
  /** The default, as the README shows it. */
  default: string;
  /** One line: what the setting does. */
  doc: string;
  /** The value from the trimmed variable, or the default when it is unset or blank; throws ConfigError. */
  parse: (raw: string | undefined, context: ParseContext) => T;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function text(fallback: string): Setting<string>['parse'] {
  return (raw) => raw ?? fallback;
}

function optionalText(raw: string | undefined): string | undefined {
  return raw;
}

function port(fallback: number): Setting<number>['parse'] {
  return (raw, { env }) => {
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < 0 || value > 65535) throw new ConfigError(env, `must be a port number (0-65535), got "${raw}"`);
    return value;
  };
}

function boolean(fallback: boolean): Setting<boolean>['parse'] {
  return (raw, { env }) => {
    if (raw === undefined) return fallback;
    if (['1', 'true', 'yes', 'on'].includes(raw.toLowerCase())) return true;
    if (['0', 'false', 'no', 'off'].includes(raw.toLowerCase())) return false;
    throw new ConfigError(env, `must be true or false, got "${raw}"`);
  };
}

/** One training per core (each saturates one), but never more than one per 2 GiB of memory (each holds its data). */
export function defaultTrainingSlots(cores: number, totalMemoryBytes: number): number {
  return Math.max(1, Math.min(cores, Math.floor(totalMemoryBytes / 2 ** 31)));
}

function positiveInteger(raw: string | undefined, env: string): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 1) throw new ConfigError(env, `must be a whole number >= 1, got "${raw}"`);
  return value;
}

function integer(fallback: number): Setting<number>['parse'] {
  return (raw, { env }) => positiveInteger(raw, env) ?? fallback;
}

/** A whole number >= 0, where 0 turns the feature off. */
function integerOrOff(fallback: number): Setting<number>['parse'] {
  return (raw, { env }) => {
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isSafeInteger(value) || value < 0) throw new ConfigError(env, `must be a whole number >= 0 (0: off), got "${raw}"`);
    return value;
  };
}

function integerAtLeast(min: number, fallback: number): Setting<number>['parse'] {
  return (raw, { env }) => {
    const value = positiveInteger(raw, env) ?? fallback;
    if (value < min) throw new ConfigError(env, `must be at least ${min}, got "${raw}"`);
    return value;
  };
}

function resolvedPath(fallback: (context: ParseContext) => string): Setting<string>['parse'] {
  return (raw, context) => path.resolve(raw ?? fallback(context));
}

function sqlConnections(raw: string | undefined, { env }: ParseContext): Record<string, string> {
  if (raw === undefined) return {};
  const problem = 'must be a JSON object mapping connection names to postgres:// URLs';
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new ConfigError(env, problem);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new ConfigError(env, problem);
  const result: Record<string, string> = {};
  for (const [key, value] of Object.entries(parsed)) {
    if (typeof value !== 'string' || !/^postgres(ql)?:\/\//.test(value)) throw new ConfigError(env, `entry "${key}" must be a postgres:// URL`);
    result[key] = value;
  }
  return result;
}

function cidrList(raw: string | undefined, { env }: ParseContext): string[] {
  if (raw === undefined) return [];
  return raw.split(',').map((entry) => {
    const cidr = entry.trim();
    if (!/^([0-9.]+|[0-9a-fA-F:]+)\/\d{1,3}$/.test(cidr)) {
      throw new ConfigError(env, `must be a comma-separated list of CIDR networks such as 10.1.0.0/16, got "${cidr}"`);
    }
    return cidr;
  });
}

function memoryLimit(fallback: string): Setting<string>['parse'] {
  return (raw, { env }) => {
    const value = raw ?? fallback;
    if (!/^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/i.test(value)) throw new ConfigError(env, `must be a size such as 2GB or 512MiB, got "${value}"`);
    return value;
  };
}

function optionalMemorySize(raw: string | undefined, context: ParseContext): string | undefined {
  return raw === undefined ? undefined : memoryLimit(raw)(raw, context);
}

/** The certificates of a PEM file, read at start so a wrong path fails the process, not the first https ingest. */
function pemFile(raw: string | undefined, { env }: ParseContext): string[] | undefined {
  if (raw === undefined) return undefined;
  let pem: string;
  try {
    pem = readFileSync(raw, 'utf8');
  } catch (error) {
    throw new ConfigError(env, `must name a readable PEM file: ${(error as Error).message}`);
  }
  const certificates = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
  if (!certificates) throw new ConfigError(env, `must name a PEM file with at least one certificate, got ${raw}`);
  return certificates;
}

/** A readable file's path (its content is read where it is used, so a private key never sits in the config object). */
function readableFile(what: string): Setting<string | undefined>['parse'] {
  return (raw, { env }) => {
    if (raw === undefined) return undefined;
    let content: string;
    try {
      content = readFileSync(raw, 'utf8');
    } catch (error) {
      throw new ConfigError(env, `must name a readable ${what} file: ${(error as Error).message}`);
    }
    if (!/-----BEGIN [A-Z0-9 ]+-----/.test(content)) throw new ConfigError(env, `must name a PEM ${what} file, got ${raw}`);
    return path.resolve(raw);
  };
}

/** An AES-256 key: 64 hex digits or 32 bytes in base64/base64url. */
function aes256Key(raw: string, env: string): Buffer {
  const key = /^[0-9a-fA-F]{64}$/.test(raw) ? Buffer.from(raw, 'hex') : Buffer.from(raw, 'base64');
  if (key.length !== 32) throw new ConfigError(env, 'must be a 256-bit key: 64 hex digits or 32 bytes in base64 (openssl rand -base64 32)');
  return key;
}

function payloadKey(raw: string | undefined, { env }: ParseContext): Buffer | undefined {
  return raw === undefined ? undefined : aes256Key(raw, env);
}

function payloadKeys(raw: string | undefined, { env }: ParseContext): Buffer[] {
  if (raw === undefined) return [];
  return raw.split(',').map((entry) => entry.trim()).filter((entry) => entry !== '').map((entry) => aes256Key(entry, env));
}

function optionalBoolean(raw: string | undefined, context: ParseContext): boolean | undefined {
  return raw === undefined ? undefined : boolean(false)(raw, context);
}

function adminKey(raw: string | undefined, { env }: ParseContext): string | undefined {
  if (raw !== undefined && raw.length < 16) throw new ConfigError(env, 'must be at least 16 characters');
  return raw;
}

function signingKey(raw: string | undefined, { env }: ParseContext): string | undefined {
  if (raw !== undefined && raw.length < 32) throw new ConfigError(env, 'must be at least 32 characters');
  return raw;
}

function logLevel(raw: string | undefined, { env }: ParseContext): string {
  const level = raw?.toLowerCase() ?? 'info';
  if (!LOG_LEVELS.includes(level)) throw new ConfigError(env, `must be one of ${LOG_LEVELS.join(', ')}, got "${raw}"`);
  return level;
}

function setting<T>(entry: Setting<T>): Setting<T> {
  return entry;
}

/** Every setting Keel reads, by its key in the config object. */
export const SETTINGS = {
  dataDir: setting({ env: 'KEEL_DATA_DIR', type: 'path', default: './.keel', doc: 'all local state: Postgres data, Temporal SQLite file, artifacts, checkpoints', parse: resolvedPath(() => './.keel') }),
  port: setting({ env: 'PORT', type: 'port', default: '3000', doc: 'HTTP port of the API', parse: port(3000) }),
  host: setting({ env: 'HOST', type: 'host', default: '0.0.0.0', doc: 'address the API binds to', parse: text('0.0.0.0') }),
  temporalAddress: setting({ env: 'TEMPORAL_ADDRESS', type: 'host:port', default: '(unset: embedded dev server)', doc: 'an existing Temporal frontend; then no dev server starts', parse: optionalText }),
  temporalNamespace: setting({ env: 'TEMPORAL_NAMESPACE', type: 'name', default: 'default', doc: 'the Temporal namespace runs and schedules live in', parse: text('default') }),
  temporalTls: setting({ env: 'TEMPORAL_TLS', type: 'boolean', default: '(unset: on when TEMPORAL_TLS_CERT, _KEY, _CA or TEMPORAL_API_KEY is set)', doc: 'connect to Temporal over TLS (true alone: verified against the system CAs, as for Temporal Cloud)', parse: optionalBoolean }),
  temporalTlsCert: setting({ env: 'TEMPORAL_TLS_CERT', type: 'PEM file path', default: '(none)', doc: 'client certificate for mTLS to Temporal; needs TEMPORAL_TLS_KEY', parse: readableFile('certificate') }),
  temporalTlsKey: setting({ env: 'TEMPORAL_TLS_KEY', type: 'PEM file path', default: '(none)', doc: 'private key of TEMPORAL_TLS_CERT', parse: readableFile('private key') }),
  temporalTlsCa: setting({ env: 'TEMPORAL_TLS_CA', type: 'PEM file path', default: '(unset: the system CAs)', doc: "CA certificate(s) that signed the Temporal server's certificate", parse: readableFile('CA certificate') }),
  temporalTlsServerName: setting({ env: 'TEMPORAL_TLS_SERVER_NAME', type: 'host name', default: '(unset: the host of TEMPORAL_ADDRESS)', doc: "name the Temporal server's certificate is checked against (SNI), e.g. behind a proxy", parse: optionalText }),
  temporalApiKey: setting({ env: 'TEMPORAL_API_KEY', type: 'secret', default: '(none)', doc: 'Temporal Cloud (or a secured cluster) API key, sent as a bearer token; TLS is on with it', parse: optionalText }),
  payloadKey: setting({ env: 'KEEL_PAYLOAD_KEY', type: '256-bit key (hex or base64)', default: '(unset: payloads unencrypted)', doc: "AES-256-GCM key Keel encrypts every Temporal payload (run specs, results, queries) with; the same on the API and every worker", parse: payloadKey }),
  payloadPreviousKeys: setting({ env: 'KEEL_PAYLOAD_PREVIOUS_KEYS', type: 'comma-separated keys', default: '(none)', doc: 'retired KEEL_PAYLOAD_KEYs, still used to decrypt payloads written under them (key rotation)', parse: payloadKeys }),
  temporalPort: setting({ env: 'KEEL_TEMPORAL_PORT', type: 'port', default: '7233', doc: 'gRPC port of the embedded Temporal dev server', parse: port(7233) }),
  temporalUiPort: setting({ env: 'KEEL_TEMPORAL_UI_PORT', type: 'port', default: '8233', doc: 'web UI port of the embedded Temporal dev server', parse: port(8233) }),
  databaseUrl: setting({ env: 'DATABASE_URL', type: 'postgres:// URL', default: '(unset: embedded Postgres)', doc: 'an existing Postgres; then no embedded Postgres starts', parse: optionalText }),
  migrationDatabaseUrl: setting({ env: 'KEEL_MIGRATION_DATABASE_URL', type: 'postgres:// URL', default: '(unset: DATABASE_URL)', doc: 'the schema owner the API applies migrations as; DATABASE_URL is then the keel_app role, whose password it sets', parse: optionalText }),
  embeddedPostgresPort: setting({ env: 'KEEL_POSTGRES_PORT', type: 'port', default: '5433', doc: 'port of the embedded Postgres', parse: port(5433) }),
  adminKey: setting({ env: 'KEEL_ADMIN_KEY', type: 'secret (≥ 16 characters)', default: '(unset: generated into <data dir>/admin-key, mode 0600)', doc: 'the admin API key installed on first start', parse: adminKey }),
  signingKey: setting({ env: 'KEEL_SIGNING_KEY', type: 'secret (≥ 32 characters)', default: '(unset: generated into <data dir>/signing-key)', doc: 'HMAC-SHA256 key the API signs reviews with and workflows verify them by; the same on the API and every pipeline worker', parse: signingKey }),
  dataRoots: setting({
    env: 'KEEL_DATA_ROOTS',
    type: 'colon-separated paths',
    default: '<data dir>/datasets',
    doc: 'folders that local dataset paths must resolve into',
    parse: (raw, { dataDir }) =>
      (raw ?? path.join(dataDir, 'datasets'))
        .split(':')
        .filter((root) => root !== '')
        .map((root) => path.resolve(root)),
  }),
  sqlConnections: setting({ env: 'KEEL_SQL_CONNECTIONS', type: 'JSON object', default: '{}', doc: 'admin-configured SQL sources, name → postgres://… (engineers pass the name)', parse: sqlConnections }),
  allowPrivateUrls: setting({ env: 'KEEL_ALLOW_PRIVATE_URLS', type: 'boolean', default: 'false', doc: 'allow dataset URLs resolving to loopback/private/link-local addresses', parse: boolean(false) }),
  allowedPrivateNetworks: setting({ env: 'KEEL_ALLOWED_PRIVATE_NETWORKS', type: 'comma-separated CIDRs', default: '(none)', doc: 'private networks dataset URLs may reach anyway (an internal data server)', parse: cidrList }),
  allowHttpUrls: setting({ env: 'KEEL_ALLOW_HTTP_URLS', type: 'boolean', default: 'false', doc: 'allow plain http:// dataset URLs', parse: boolean(false) }),
  urlCaCertificates: setting({ env: 'KEEL_URL_CA_CERTIFICATES', type: 'PEM file path', default: '(none)', doc: 'extra CA certificates trusted for https dataset URLs (an internal CA)', parse: pemFile }),
  maxDownloadBytes: setting({ env: 'KEEL_MAX_DOWNLOAD_BYTES', type: 'bytes', default: String(2 * 1024 ** 3), doc: 'largest dataset download accepted (2 GiB)', parse: integer(2 * 1024 ** 3) }),
  uploadMaxBytes: setting({ env: 'KEEL_UPLOAD_MAX_BYTES', type: 'bytes', default: String(1024 ** 3), doc: 'largest dataset accepted by POST /v1/datasets (1 GiB); a larger upload is refused with 413 and nothing is kept', parse: integer(1024 ** 3) }),
  sqlStatementTimeoutMs: setting({ env: 'KEEL_SQL_STATEMENT_TIMEOUT_MS', type: 'milliseconds', default: String(10 * 60_000), doc: 'per-statement timeout of SQL dataset sources (10 minutes)', parse: integer(10 * 60_000) }),
  duckdbMemoryLimit: setting({ env: 'KEEL_DUCKDB_MEMORY_LIMIT', type: 'size', default: '4GB', doc: 'DuckDB memory per ingest/profile session at most (less when the budget below is shared by more sessions); it spills to disk beyond it', parse: memoryLimit('4GB') }),
  duckdbMemoryBudget: setting({ env: 'KEEL_DUCKDB_MEMORY_BUDGET', type: 'size', default: "(unset: half this machine's memory)", doc: "DuckDB memory of all the pipeline worker's ingest and validation sessions together, shared equally by the most that run at once", parse: optionalMemorySize }),
  duckdbThreads: setting({ env: 'KEEL_DUCKDB_THREADS', type: 'integer', default: '(unset: the cores shared by the sessions running at once, at least 1)', doc: 'DuckDB worker threads per ingest/profile session', parse: (raw, { env }) => positiveInteger(raw, env) }),
  pipelineMaxActivities: setting({ env: 'KEEL_PIPELINE_MAX_ACTIVITIES', type: 'integer', default: '16', doc: 'activities the pipeline worker runs at once, all kinds together (its maxConcurrentActivityTaskExecutions)', parse: integer(16) }),
  maxConcurrentIngests: setting({ env: 'KEEL_MAX_CONCURRENT_INGESTS', type: 'integer', default: '2', doc: 'ingests (snapshotDataset) one pipeline worker runs at once; more wait their turn, heartbeating', parse: integer(2) }),
  maxConcurrentValidations: setting({ env: 'KEEL_MAX_CONCURRENT_VALIDATIONS', type: 'integer', default: '2', doc: 'validations (validateDataset: profile and checks) one pipeline worker runs at once', parse: integer(2) }),
  maxConcurrentEvaluations: setting({ env: 'KEEL_MAX_CONCURRENT_EVALUATIONS', type: 'integer', default: '2', doc: 'evaluations (evaluateModel: holdout scoring) one pipeline worker runs at once', parse: integer(2) }),
  trainingSlots: setting({ env: 'KEEL_TRAINING_SLOTS', type: 'integer', default: '(unset: cores, at most one per 2 GiB of memory, at least 1)', doc: 'trainings one training worker runs at once (its maxConcurrentActivityTaskExecutions); each holds its training data in memory', parse: (raw, { env }) => positiveInteger(raw, env) ?? defaultTrainingSlots(os.availableParallelism(), os.totalmem()) }),
  cpuThreads: setting({ env: 'KEEL_CPU_THREADS', type: 'integer', default: '(unset: cores − 1, 1 to 4)', doc: 'worker threads of a pipeline worker for CPU-bound steps (evaluation scoring), so they never block its workflows', parse: (raw, { env }) => positiveInteger(raw, env) ?? Math.min(4, Math.max(1, os.availableParallelism() - 1)) }),
  artifactDir: setting({ env: 'KEEL_ARTIFACT_DIR', type: 'path', default: '<data dir>/artifacts', doc: 'content-addressed artifact store', parse: resolvedPath(({ dataDir }) => path.join(dataDir, 'artifacts')) }),
  predictionBufferRows: setting({ env: 'KEEL_PREDICTION_BUFFER_ROWS', type: 'integer (≥ 1000)', default: '100000', doc: 'prediction log rows held in memory before predict answers 503 (one request has up to 1000)', parse: integerAtLeast(1000, 100_000) }),
  predictionFlushMs: setting({ env: 'KEEL_PREDICTION_FLUSH_MS', type: 'milliseconds', default: '200', doc: 'longest a logged prediction waits before its batch is written (a batch also goes at 1,000 rows)', parse: integer(200) }),
  scoreBatchRows: setting({ env: 'KEEL_SCORE_BATCH_ROWS', type: 'integer (≥ 1)', default: '4096', doc: 'dynamic batching: predict requests for one model version arriving in the same event-loop turn are scored in one onnxruntime run of up to this many rows (each still gets its own answer, errors, log rows and latency); 1: each request runs alone', parse: integerAtLeast(1, 4096) }),
  predictionRetentionDays: setting({ env: 'KEEL_PREDICTION_RETENTION_DAYS', type: 'days', default: '30', doc: 'daily partitions of the prediction log older than this are dropped', parse: integer(30) }),
  reviewTimeoutMs: setting({ env: 'KEEL_REVIEW_TIMEOUT_MS', type: 'milliseconds', default: '15000', doc: 'longest POST /v1/runs/:id/review waits for a pipeline worker to take the review before it answers 503 with Retry-After', parse: integer(15_000) }),
  rateLimitWritesPerMinute: setting({ env: 'KEEL_RATE_LIMIT_WRITES', type: 'integer', default: '120', doc: 'state-changing requests (POST/PUT/DELETE under /v1/, but predict, feedback and reviews) one API key may make per minute in one API process; more answer 429 with Retry-After; 0: no limit', parse: integerOrOff(120) }),
  rateLimitReviewsPerMinute: setting({ env: 'KEEL_RATE_LIMIT_REVIEWS', type: 'integer', default: '30', doc: 'POST /v1/runs/:id/review requests one API key may make per minute in one API process (429 with Retry-After beyond); 0: no limit', parse: integerOrOff(30) }),
  maxEventLoopDelayMs: setting({ env: 'KEEL_MAX_EVENT_LOOP_DELAY_MS', type: 'milliseconds', default: '1000', doc: "the API answers 503 with Retry-After (before authenticating) while its event loop's mean delay is above this; /healthz and /metrics still answer; 0: off", parse: integerOrOff(1000) }),
  acceptHandles: setting({ env: 'KEEL_ACCEPT_HANDLES', type: 'integer (≥ 1)', default: '16', doc: "handles accepting on the API's one listening socket: Node 20's libuv accepts one connection per event-loop iteration and handle, so with 1 a busy API lets new connections wait past clients' timeouts (bench/load README)", parse: integerAtLeast(1, 16) }),
  requestTimeoutMs: setting({ env: 'KEEL_REQUEST_TIMEOUT_MS', type: 'milliseconds', default: '60000', doc: 'longest the API waits to receive a whole request (headers and body) before it answers 408 and closes the connection', parse: integer(60_000) }),
  connectionTimeoutMs: setting({ env: 'KEEL_CONNECTION_TIMEOUT_MS', type: 'milliseconds', default: '120000', doc: 'an API connection idle this long is closed', parse: integer(120_000) }),
  pipelineTaskQueue: setting({ env: 'KEEL_PIPELINE_TASK_QUEUE', type: 'name', default: 'pipeline', doc: 'pipeline task queue (isolate environments sharing a namespace)', parse: text('pipeline') }),
  trainingTaskQueue: setting({ env: 'KEEL_TRAINING_TASK_QUEUE', type: 'name', default: 'training', doc: 'training task queue (isolate environments sharing a namespace)', parse: text('training') }),
  demo: setting({ env: 'KEEL_DEMO', type: 'boolean', default: 'true', doc: 'start the demo run on an empty data directory', parse: boolean(true) }),
  logLevel: setting({ env: 'LOG_LEVEL', type: 'pino level', default: 'info (warn for the children of npm start)', doc: `log level: ${LOG_LEVELS.join(', ')}`, parse: logLevel }),
  cacheHome: setting({ env: 'XDG_CACHE_HOME', type: 'path', default: '~/.cache', doc: 'the Temporal CLI built with Go is kept in its keel/bin, shared by clones of the project', parse: resolvedPath(() => path.join(os.homedir(), '.cache')) }),
  searchPath: setting({ env: 'PATH', type: 'path list', default: '(the system PATH)', doc: 'where the Temporal CLI is looked for first', parse: (raw) => (raw ?? '').split(path.delimiter).filter((dir) => dir !== '') }),
  recordHistories: setting({ env: 'KEEL_RECORD_HISTORIES', type: 'boolean', default: 'false', doc: 'tests only: record workflow histories into test/histories/ (new files only; never overwrites)', parse: boolean(false) }),
} satisfies Record<string, Setting<unknown>>;

type Settings = { [K in keyof typeof SETTINGS]: ReturnType<(typeof SETTINGS)[K]['parse']> };

/** The typed configuration; the two task queue names are grouped because they always travel together. */
export type KeelConfig = Omit<Settings, 'pipelineTaskQueue' | 'trainingTaskQueue'> & {
  taskQueues: { pipeline: string; training: string };
};

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

export function loadConfig(env: Env = process.env): KeelConfig {
  const dataDir = SETTINGS.dataDir.parse(nonEmpty(env[SETTINGS.dataDir.env]), { env: SETTINGS.dataDir.env, dataDir: '' });
  const settings: Record<string, unknown> = {};
  for (const [key, entry] of Object.entries(SETTINGS) as [string, Setting<unknown>][]) {
    settings[key] = entry.parse(nonEmpty(env[entry.env]), { env: entry.env, dataDir });
  }
  const { pipelineTaskQueue, trainingTaskQueue, ...rest } = settings as Settings;
  return { ...rest, taskQueues: { pipeline: pipelineTaskQueue, training: trainingTaskQueue } };
}

/** One setting alone, for tools that need it without the whole config being valid (finding the Temporal CLI). */
export function readSetting<K extends keyof typeof SETTINGS>(key: K, env: Env = process.env): Settings[K] {
  const dataDir = SETTINGS.dataDir.parse(nonEmpty(env[SETTINGS.dataDir.env]), { env: SETTINGS.dataDir.env, dataDir: '' });
  const entry = SETTINGS[key] as Setting<Settings[K]>;
  return entry.parse(nonEmpty(env[entry.env]), { env: entry.env, dataDir });
}

/**
 * The environment for a child process: this process's own, with `set` applied and `defaults` filled in where the
 * variable is unset (how `npm start` hands its settings to the workers and the API).
 */
export function childProcessEnv(set: Env = {}, defaults: Env = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const [name, value] of Object.entries(defaults)) {
    if (nonEmpty(env[name]) === undefined) env[name] = value;
  }
  return { ...env, ...set };
}
