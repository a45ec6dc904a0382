// Assigns every row of a snapshot to train / valid / holdout by something the row carries (its content, a key,
// a group or a time), salted per model, so the same row lands in the same part in every run and every snapshot.
// Computed in DuckDB, read back as one byte per row; never row objects in JS.
import type { ModelSplit, ResolvedSplit, SplitFractionsRecord } from '../workflows/contracts/split.js';
import { DEFAULT_SPLIT, splitRows, type SplitPart } from '../ml/split.js';
import { copyVector } from './copy-vector.js';
import { openDuckDb } from './duckdb-session.js';
import { columnKind } from './profile-snapshot.js';
import { quoteIdentifier, quoteString } from './sql-literal.js';
import { TrainingDataError } from './training-data.js';

/** 0 = train, 1 = valid, 2 = holdout, one per snapshot row in snapshot order. */
export type SplitCodes = Uint8Array;
export const PART_CODES: Record<SplitPart, number> = { train: 0, valid: 1, holdout: 2 };

export interface SplitAssignment {
  parts: Record<SplitPart, Uint32Array>;
  codes: SplitCodes;
  resolved: ResolvedSplit;
}

export interface RunSplitInput {
  /** The model's split; absent for runs from before stable splits, which split by `hash(seed, row index)`. */
  split?: ModelSplit;
  seed: number;
  target: string;
  features: readonly string[];
  rowCount: number;
}

/** The run's parts, the same for training and evaluation of one run. */
export async function splitForRun(snapshotPath: string, run: RunSplitInput): Promise<RunSplit> {
  return startSplitForRun(snapshotPath, run).parts(run.rowCount);
}

export type RunSplit = Record<SplitPart, Uint32Array> & { resolved: ResolvedSplit };

/**
 * Starts assigning the run's rows before the caller knows the row count, so the assignment (its own DuckDB session)
 * can run beside the load of the same snapshot; `parts` waits for it and checks it saw as many rows as the load.
 */
export function startSplitForRun(
  snapshotPath: string,
  run: Omit<RunSplitInput, 'rowCount'>,
  reading: SplitReading = {},
): { parts(rowCount: number): Promise<RunSplit> } {
  const assigning = run.split ? assignSplit(snapshotPath, run.split, run, DEFAULT_SPLIT, reading) : null;
  // A load that fails first is the error the caller reports; this one must not surface as an unhandled rejection.
  assigning?.catch(() => undefined);
  return {
    async parts(rowCount) {
      if (assigning === null) return { ...splitRows(rowCount, run.seed), resolved: { kind: 'row-index', seed: run.seed, fractions: DEFAULT_SPLIT } };
      const assigned = await assigning;
      if (assigned.codes.length !== rowCount) throw new Error(`the split saw ${assigned.codes.length} rows, the data has ${rowCount}`);
      return { ...assigned.parts, resolved: assigned.resolved };
    },
  };
}

/** The columns a content hash covers: the target and the features, by name, so their order does not matter. */
export function contentColumns(target: string, features: readonly string[]): string[] {
  return [...new Set([target, ...features])].sort();
}

/** Resolves the run's split on this snapshot (time boundaries come from its data) and assigns every row. */
export async function assignSplit(
  snapshotPath: string,
  split: ModelSplit,
  columns: { target: string; features: readonly string[] },
  fractions: SplitFractionsRecord = DEFAULT_SPLIT,
  reading: SplitReading = {},
): Promise<SplitAssignment> {
  const { spec, salt } = split;
  if (spec.kind === 'hash' && spec.key === undefined) {
    return applySplit(snapshotPath, { kind: 'hash', salt, content: contentColumns(columns.target, columns.features), fractions }, reading);
  }
  if (spec.kind === 'hash') return applySplit(snapshotPath, { kind: 'hash', salt, key: spec.key!, fractions }, reading);
  if (spec.kind === 'group') return applySplit(snapshotPath, { kind: 'group', salt, column: spec.column, fractions }, reading);
  const bounds = await timeBoundaries(snapshotPath, spec.column, spec.holdoutFrom, fractions);
  return applySplit(snapshotPath, { kind: 'time', column: spec.column, ...bounds, fractions }, reading);
}

export interface SplitReading {
  /** Checked between chunks: an aborted assignment stops there and throws the signal's reason. */
  signal?: AbortSignal;
  /** DuckDB threads for the assignment (default 1): hashing every row is most of its time. */
  threads?: number;
}

/** Assigns rows by an already resolved split (e.g. a champion's stored one); `row-index` splits cannot be. */
export async function applySplit(snapshotPath: string, resolved: ResolvedSplit, reading: SplitReading = {}): Promise<SplitAssignment> {
  if (resolved.kind === 'row-index') throw new Error('a row-index split says nothing about the rows of another run');
  const session = await openDuckDb({ threads: reading.threads ?? 1 });
  try {
    const { connection } = session;
    const relation = `read_parquet(${quoteString(snapshotPath)})`;
    const types = await columnTypes(connection, relation);
    const code = partExpression(resolved, types);
    const count = await connection.runAndReadAll(`SELECT count(*) FROM ${relation}`);
    const rowCount = Number(count.getRowsJS()[0]![0]);
    await refuseMissing(connection, relation, resolved);

    const codes = new Uint8Array(rowCount);
    // A plain scan keeps the file's row order (DuckDB preserves insertion order, with any number of threads), the
    // order readSnapshotColumns reads the features in.
    const result = await connection.stream(`SELECT (${code})::UTINYINT FROM ${relation}`);
    let offset = 0;
    for (;;) {
      reading.signal?.throwIfAborted();
      const chunk = await result.fetchChunk();
      const size = chunk?.rowCount ?? 0;
      if (size === 0) break;
      if (offset + size > rowCount) throw new Error(`the snapshot has ${rowCount} rows, the split read more`);
      copyVector(chunk!.getColumnVector(0), codes, offset, size);
      offset += size;
    }
    if (offset !== rowCount) throw new Error(`read ${offset} split codes, the snapshot has ${rowCount} rows`);
    return { parts: partsOf(codes), codes, resolved };
  } finally {
    session.close();
  }
}

function partsOf(codes: SplitCodes): Record<SplitPart, Uint32Array> {
  const sizes = [0, 0, 0];
  for (let row = 0; row < codes.length; row++) sizes[codes[row]!]! += 1;
  const train = new Uint32Array(sizes[0]!);
  const valid = new Uint32Array(sizes[1]!);
  const holdout = new Uint32Array(sizes[2]!);
  let t = 0;
  let v = 0;
  let h = 0;
  for (let row = 0; row < codes.length; row++) {
    const code = codes[row];
    if (code === 0) train[t++] = row;
    else if (code === 1) valid[v++] = row;
    else holdout[h++] = row;
  }
  return { train, valid, holdout };
}

type Connection = Awaited<ReturnType<typeof openDuckDb>>['connection'];

async function columnTypes(connection: Connection, relation: string): Promise<Map<string, string>> {
  const described = await connection.runAndReadAll(`DESCRIBE SELECT * FROM ${relation}`);
  return new Map(described.getRowsJS().map((row) => [String(row[0]), String(row[1])]));
}

/**
 * A value's text for hashing that does not depend on how a snapshot typed it: every number as a DOUBLE (so 5,
 * 5.0 and a BIGINT 5 agree), everything else as DuckDB's text.
 */
function canonicalText(column: string, types: Map<string, string>): string {
  const type = types.get(column);
  if (type === undefined) throw new TrainingDataError(`split column "${column}" is not in the snapshot`, column);
  const quoted = quoteIdentifier(column);
  return columnKind(type) === 'numeric' ? `CAST(CAST(${quoted} AS DOUBLE) AS VARCHAR)` : `CAST(${quoted} AS VARCHAR)`;
}

/**
 * A uniform number in [0, 1) from md5(salt ':' JSON list of the values' text): the first 13 hex digits / 2^52.
 * Anyone can recompute it (e.g. `int(md5(s).hexdigest()[:13], 16) / 2**52` in Python).
 */
function unitHash(salt: string, columns: readonly string[], types: Map<string, string>): string {
  const values = columns.map((column) => canonicalText(column, types)).join(', ');
  return `(('0x' || substr(md5(${quoteString(`${salt}:`)} || CAST(to_json([${values}]) AS VARCHAR)), 1, 13))::BIGINT / 4503599627370496.0)`;
}

/** The time column on one numeric scale: epoch seconds for dates and timestamps (as the trainer reads them). */
function timeValue(column: string, types: Map<string, string>): string {
  const type = types.get(column);
  if (type === undefined) throw new TrainingDataError(`split column "${column}" is not in the snapshot`, column);
  const quoted = quoteIdentifier(column);
  const kind = columnKind(type);
  if (kind === 'numeric') return `CAST(${quoted} AS DOUBLE)`;
  if (kind === 'temporal') return `CAST(epoch(${quoted}) AS DOUBLE)`;
  if (kind === 'categorical') return `CAST(epoch(CAST(${quoted} AS TIMESTAMP)) AS DOUBLE)`;
  throw new TrainingDataError(`time split column "${column}" is ${type}; it must be a date, timestamp or number`, column);
}

function partExpression(resolved: Exclude<ResolvedSplit, { kind: 'row-index' }>, types: Map<string, string>): string {
  const { holdout, valid } = resolved.fractions;
  if (resolved.kind === 'time') {
    const t = timeValue(resolved.column, types);
    return `CASE WHEN ${t} >= ${resolved.holdoutFrom} THEN 2 WHEN ${t} >= ${resolved.validFrom} THEN 1 ELSE 0 END`;
  }
  const columns = 'content' in resolved ? resolved.content : [resolved.kind === 'hash' ? resolved.key : resolved.column];
  const u = unitHash(resolved.salt, columns, types);
  return `CASE WHEN ${u} < ${holdout} THEN 2 WHEN ${u} < ${holdout + valid} THEN 1 ELSE 0 END`;
}

/** A row key or a time must be present: a missing one would put rows in a part by accident. Groups may be null. */
async function refuseMissing(connection: Connection, relation: string, resolved: ResolvedSplit): Promise<void> {
  const column = resolved.kind === 'time' ? resolved.column : resolved.kind === 'hash' && 'key' in resolved ? resolved.key : null;
  if (column === null) return;
  const missing = await connection.runAndReadAll(`SELECT count(*) FROM ${relation} WHERE ${quoteIdentifier(column)} IS NULL`);
  const count = Number(missing.getRowsJS()[0]![0]);
  if (count > 0) {
    const role = resolved.kind === 'time' ? 'time split column' : 'split key';
    throw new TrainingDataError(`${role} "${column}" is missing in ${count} rows; drop or fill them`, column);
  }
}

/**
 * Time boundaries: `holdoutFrom` as given (or the value above which the newest `holdout` share lies), and
 * `validFrom` so the newest `valid` share of all rows before the holdout is the validation part.
 */
async function timeBoundaries(
  snapshotPath: string,
  column: string,
  holdoutFrom: string | number | undefined,
  fractions: SplitFractionsRecord,
): Promise<{ validFrom: number; holdoutFrom: number }> {
  const session = await openDuckDb({ threads: 1 });
  try {
    const { connection } = session;
    const relation = `read_parquet(${quoteString(snapshotPath)})`;
    const types = await columnTypes(connection, relation);
    const t = timeValue(column, types);
    let holdoutBound: number;
    if (holdoutFrom === undefined) {
      holdoutBound = await scalar(connection, `SELECT quantile_disc(${t}, ${1 - fractions.holdout}) FROM ${relation}`);
    } else if (typeof holdoutFrom === 'number') {
      holdoutBound = holdoutFrom;
    } else {
      holdoutBound = await parseTime(connection, holdoutFrom);
    }
    if (!Number.isFinite(holdoutBound)) throw new TrainingDataError(`time split column "${column}" has no values`, column);
    const validShare = fractions.valid / (1 - fractions.holdout);
    const validBound = await scalar(
      connection,
      `SELECT quantile_disc(${t}, ${1 - validShare}) FROM ${relation} WHERE ${t} < ${holdoutBound}`,
    );
    return { holdoutFrom: holdoutBound, validFrom: Number.isFinite(validBound) ? validBound : holdoutBound };
  } catch (error) {
    if (error instanceof TrainingDataError) throw error;
    throw new TrainingDataError(`time split on "${column}": ${(error as Error).message}`, column);
  } finally {
    session.close();
  }
}

async function parseTime(connection: Connection, text: string): Promise<number> {
  try {
    return await scalar(connection, `SELECT CAST(epoch(CAST(${quoteString(text)} AS TIMESTAMP)) AS DOUBLE)`);
  } catch {
    throw new TrainingDataError(`split.holdoutFrom ${JSON.stringify(text)} is not a date or timestamp`, 'split.holdoutFrom');
  }
}

/** A single number; NaN when the query returns null (e.g. no rows). */
async function scalar(connection: Connection, sql: string): Promise<number> {
  const reader = await connection.runAndReadAll(sql);
  const value = reader.getRowsJS()[0]?.[0];
  return value === null || value === undefined ? Number.NaN : Number(value);
}
