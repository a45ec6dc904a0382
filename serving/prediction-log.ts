// The prediction log's bounded in-memory buffer: requests append without touching Postgres, one flusher writes
// batches with COPY. Nothing is dropped: a full buffer refuses before scoring, a failed batch stays (in order) and
// is retried, and close() returns only once every accepted row is in Postgres. Each batch's per-minute monitoring
// rollups are counted here, at flush time, and written in the COPY's transaction.
import type pg from 'pg';
import { copyPredictionsWithRollups, deletePredictionRollupsBefore } from '../db/repositories/prediction-rollups.js';
import { recordFromRow, type PredictionLogRecord, type PredictionRecord } from '../db/repositories/predictions.js';
import { PredictionRollupLayouts } from '../monitoring/prediction-rollup-writer.js';
import type { PredictionRollup } from '../monitoring/prediction-rollup.js';
import { dayStart, dropExpiredPredictionPartitions, ensurePredictionPartitions } from '../db/prediction-partitions.js';
import { KeelError } from '../errors/keel-error.js';

export type { PredictionLogRecord, PredictionRecord } from '../db/repositories/predictions.js';

export interface PredictionLogSettings {
  /** Most rows held in memory (buffered + reserved by requests being scored); beyond it requests are refused. */
  bufferRows: number;
  /** Longest a row waits before a flush starts. */
  flushIntervalMs: number;
  /** Daily partitions older than this many days are dropped. */
  retentionDays: number;
}

export const DEFAULT_PREDICTION_LOG_SETTINGS: PredictionLogSettings = {
  bufferRows: 100_000,
  flushIntervalMs: 200,
  retentionDays: 30,
};

export interface PredictionLogOptions extends Partial<PredictionLogSettings> {
  pool: pg.Pool;
  /** Rows per COPY (default 10,000; whole records, at least one); a flush starts as soon as this many are waiting. */
  batchRows?: number;
  /** Partitions kept ready ahead of today (default 3). */
  partitionDaysAhead?: number;
  /** First wait before retrying a failed flush; doubles up to 10 s (default 250 ms). */
  retryDelayMs?: number;
  /** Writes one batch; default COPY with the batch's rollups in one transaction (a custom writer writes no rollups). */
  writeBatch?: (client: pg.PoolClient, records: readonly PredictionRecord[]) => Promise<void>;
  clock?: () => Date;
  logger?: { warn(fields: object, message: string): void };
}

export interface PredictionLogStats {
  /** Rows accepted and not yet written. */
  bufferedRows: number;
  /** Rows reserved by requests still being scored. */
  reservedRows: number;
  flushedRows: number;
  failedFlushes: number;
  /** Rows refused because the buffer was full (their requests got 503 and nothing was scored). */
  refusedRows: number;
  /** Rows accepted but never written: stays 0 by construction; exported so an alert can prove it. */
  droppedRows: number;
}

/** The buffer is full (or the log is closing): the request is refused before anything is scored. */
export class PredictionLogFullError extends KeelError {
  constructor(message: string, retryAfterSeconds: number) {
    super('PREDICTION_LOG_FULL', message, { retryAfterSeconds });
  }

  get retryAfterSeconds(): number {
    return (this.details?.retryAfterSeconds as number | undefined) ?? 1;
  }
}

/** Room held for rows being scored: `commit` hands over their record (one per request), `release` gives unused room back. */
export interface PredictionLogReservation {
  commit(record: PredictionRecord): void;
  release(): void;
}

// A class, not closures: one reservation per predict request, and each closure was a function object (named by
// tsx's keepNames on every call) on the hot path.
class Reservation implements PredictionLogReservation {
  private open = true;
  constructor(
    private readonly log: PredictionLog,
    private readonly rows: number,
  ) {}

  commit(record: PredictionRecord): void {
    if (!this.open) throw new Error('prediction log reservation already used');
    // Refused before closing: the caller's release() still gives the room back.
    if (record.rowCount > this.rows) throw new Error(`reserved ${this.rows} rows but committed ${record.rowCount}`);
    this.open = false;
    this.log.commitReserved(this.rows, [record]);
  }

  release(): void {
    if (!this.open) return;
    this.open = false;
    this.log.releaseReserved(this.rows);
  }
}

const MAX_RETRY_DELAY_MS = 10_000;
const DAY_MS = 24 * 60 * 60 * 1000;

export class PredictionLog {
  private readonly pool: pg.Pool;
  private readonly settings: PredictionLogSettings;
  private readonly batchRows: number;
  private readonly partitionDaysAhead: number;
  private readonly retryDelayMs: number;
  private readonly writeBatch: PredictionLogOptions['writeBatch'];
  private readonly rollupLayouts: PredictionRollupLayouts;
  private readonly clock: () => Date;
  private readonly logger: PredictionLogOptions['logger'];

  // Records [head, buffer.length) are waiting (`waitingRows` rows); a write takes a prefix and advances head only on success.
  private buffer: PredictionRecord[] = [];
  private head = 0;
  private waitingRows = 0;
  private reserved = 0;
  private appendedTotal = 0;
  private writtenTotal = 0;
  private counters = { flushedRows: 0, failedFlushes: 0, refusedRows: 0 };
  private currentWrite: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private backgroundRunning = false;
  private closing = false;
  private closed: Promise<void> | undefined;
  private reservationsDrained: (() => void) | undefined;
  private partitionsReadyFor = -1;

  constructor(options: PredictionLogOptions) {
    this.pool = options.pool;
    this.settings = {
      bufferRows: options.bufferRows ?? DEFAULT_PREDICTION_LOG_SETTINGS.bufferRows,
      flushIntervalMs: options.flushIntervalMs ?? DEFAULT_PREDICTION_LOG_SETTINGS.flushIntervalMs,
      retentionDays: options.retentionDays ?? DEFAULT_PREDICTION_LOG_SETTINGS.retentionDays,
    };
    this.batchRows = options.batchRows ?? 10_000;
    this.partitionDaysAhead = options.partitionDaysAhead ?? 3;
    this.retryDelayMs = options.retryDelayMs ?? 250;
    this.writeBatch = options.writeBatch;
    this.rollupLayouts = new PredictionRollupLayouts(options.pool);
    this.clock = options.clock ?? (() => new Date());
    this.logger = options.logger;
  }

  /** Prepares today's and the next days' partitions and applies retention; call once before serving. */
  async start(): Promise<void> {
    await this.maintainPartitions(this.clock());
  }

  /** The time requests should wait before retrying after a refusal. */
  get retryAfterSeconds(): number {
    return Math.max(1, Math.ceil((2 * this.settings.flushIntervalMs) / 1000));
  }

  stats(): PredictionLogStats {
    return {
      bufferedRows: this.waitingRows,
      reservedRows: this.reserved,
      ...this.counters,
      droppedRows: 0,
    };
  }

  /**
   * Holds room for `rows` rows, or throws PredictionLogFullError at once. Call before scoring, so a refused
   * request scores nothing; O(1), never waits on the database.
   */
  reserve(rows: number): PredictionLogReservation {
    if (this.closing) {
      this.counters.refusedRows += rows;
      throw new PredictionLogFullError('the prediction log is shutting down; retry on another instance', this.retryAfterSeconds);
    }
    if (this.waitingRows + this.reserved + rows > this.settings.bufferRows) {
      this.counters.refusedRows += rows;
      throw new PredictionLogFullError(
        `the prediction log buffer is full (${this.settings.bufferRows} rows waiting for Postgres); retry shortly`,
        this.retryAfterSeconds,
      );
    }
    this.reserved += rows;
    return new Reservation(this, rows);
  }

  /** Reservation.commit (records of at most `rows` rows): they join the buffer and their room is given back. */
  commitReserved(rows: number, records: readonly PredictionRecord[]): void {
    for (let i = 0; i < records.length; i++) {
      this.buffer.push(records[i]!);
      this.waitingRows += records[i]!.rowCount;
    }
    this.appendedTotal += records.length;
    this.releaseReserved(rows);
    this.scheduleFlush();
  }

  /** Reservation.release (or the end of commit): unused room goes back. */
  releaseReserved(rows: number): void {
    this.reserved -= rows;
    if (this.reserved === 0) this.reservationsDrained?.();
  }

  /** Reserves and appends at once (for callers that already hold the records). */
  appendRecords(records: readonly PredictionRecord[]): void {
    let rows = 0;
    for (const record of records) rows += record.rowCount;
    this.reserve(rows);
    this.commitReserved(rows, records);
  }

  /** Per-row predictions (tests and tools): each becomes a one-row record keeping its id. */
  append(rows: readonly PredictionLogRecord[]): void {
    this.appendRecords(rows.map(recordFromRow));
  }

  /** Resolves once every row appended before the call is in Postgres; rejects if a write fails (rows stay buffered). */
  async flush(): Promise<void> {
    const target = this.appendedTotal;
    while (this.writtenTotal < target) await this.writeNext();
  }

  /** Refuses new rows, waits for requests being scored, and writes every buffered row (retrying) before resolving. */
  close(): Promise<void> {
    this.closed ??= (async () => {
      this.closing = true;
      if (this.timer) clearTimeout(this.timer);
      this.timer = undefined;
      if (this.reserved > 0) await new Promise<void>((resolve) => (this.reservationsDrained = resolve));
      await this.drainWithRetries();
    })();
    return this.closed;
  }

  private scheduleFlush(): void {
    if (this.closing || this.backgroundRunning) return;
    if (this.waitingRows >= this.batchRows) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = undefined;
      void this.runBackground();
    } else if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        void this.runBackground();
      }, this.settings.flushIntervalMs);
      this.timer.unref();
    }
  }

  private async runBackground(): Promise<void> {
    if (this.backgroundRunning) return;
    this.backgroundRunning = true;
    try {
      await this.drainWithRetries();
    } finally {
      this.backgroundRunning = false;
    }
    // Rows that arrived after the last batch started wait for the next timer.
    if (this.buffer.length > this.head) this.scheduleFlush();
  }

  private async drainWithRetries(): Promise<void> {
    let delay = this.retryDelayMs;
    while (this.buffer.length > this.head) {
      try {
        await this.writeNext();
        delay = this.retryDelayMs;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, delay));
        delay = Math.min(delay * 2, MAX_RETRY_DELAY_MS);
      }
    }
  }

  /** Writes the oldest waiting batch; one write at a time, so batches land in order. */
  private async writeNext(): Promise<void> {
    while (this.currentWrite) await this.currentWrite.catch(() => undefined);
    if (this.buffer.length === this.head) return;
    const write = this.writeOldestBatch();
    this.currentWrite = write;
    try {
      await write;
    } finally {
      this.currentWrite = undefined;
    }
  }

  private async writeOldestBatch(): Promise<void> {
    let end = this.head;
    let rows = 0;
    while (end < this.buffer.length && (end === this.head || rows + this.buffer[end]!.rowCount <= this.batchRows)) {
      rows += this.buffer[end]!.rowCount;
      end += 1;
    }
    const batch = this.buffer.slice(this.head, end);
    try {
      await this.maintainPartitions(this.clock());
      // Counted before taking the connection: loading a version's reference needs one of its own.
      const rollups = this.writeBatch ? [] : await this.rollupsOf(batch);
      const client = await this.pool.connect();
      try {
        if (this.writeBatch) await this.writeBatch(client, batch);
        else await copyPredictionsWithRollups(client, batch, rollups);
      } catch (error) {
        // A connection whose COPY failed may be mid-protocol: discard it rather than hand it to the next query.
        client.release(error instanceof Error ? error : new Error(String(error)));
        throw error;
      }
      client.release();
    } catch (error) {
      this.counters.failedFlushes += 1;
      this.logger?.warn({ err: error, rows }, 'prediction log flush failed; the batch stays buffered and is retried');
      throw error;
    }
    this.head += batch.length;
    this.writtenTotal += batch.length;
    this.waitingRows -= rows;
    this.counters.flushedRows += rows;
    // Compact now and then so the array does not grow without bound.
    if (this.head > 4096 && this.head * 2 > this.buffer.length) {
      this.buffer = this.buffer.slice(this.head);
      this.head = 0;
    }
  }

  /** The batch's rollups; on failure none (the rows are still written and the report reads their minutes raw). */
  private async rollupsOf(batch: readonly PredictionRecord[]): Promise<PredictionRollup[]> {
    try {
      return await this.rollupLayouts.rollupsOf(batch);
    } catch (error) {
      this.logger?.warn({ err: error, records: batch.length }, 'could not count prediction log rollups; the report reads these rows raw');
      return [];
    }
  }

  /** On the first write of each new day: partitions ahead and retention. Failure is logged: the default partition catches rows. */
  private async maintainPartitions(now: Date): Promise<void> {
    const today = dayStart(now).getTime();
    if (today === this.partitionsReadyFor) return;
    try {
      await ensurePredictionPartitions(this.pool, now, this.partitionDaysAhead);
      await dropExpiredPredictionPartitions(this.pool, now, this.settings.retentionDays);
      // The rollups go with their rows: the same cutoff as the partitions'.
      await deletePredictionRollupsBefore(this.pool, new Date(dayStart(now).getTime() - this.settings.retentionDays * DAY_MS));
      this.partitionsReadyFor = today;
    } catch (error) {
      this.logger?.warn({ err: error }, 'could not prepare prediction log partitions; rows go to the default partition');
    }
  }
}
