// A helper thread for the tree learner: a worker_threads worker that shares the learner's records and row ids
// (SharedArrayBuffer) and runs one generated kernel at a time on a range of them: a feature group of a leaf's
// histogram, or one half of a leaf's partition. Hand-off is a futex (Atomics.wait / notify), a few microseconds,
// because a message through the event loop would cost more than the kernels on all but the largest leaves.
// The worker is plain JavaScript compiled from the kernels' sources: no module loading, started in milliseconds.

import { Worker } from 'node:worker_threads';

const OP_EXIT = -1;
const OP_HISTOGRAM = 1;
const OP_PARTITION = 2;
/**
 * control[]: job generation, done generation, op, begin, end, byte offset of the split feature's bin, result, and
 * the byte length of the helper's error message when its job threw (0: none).
 */
const GENERATION = 0;
const DONE = 1;
const OP = 2;
const BEGIN = 3;
const END = 4;
const BIN_BYTE = 5;
const RESULT = 6;
const ERROR_BYTES = 7;
/** Room for a failed job's error message (UTF-8, truncated). */
const ERROR_CAPACITY = 1024;
/**
 * A job takes milliseconds (~10 ms for a million rows); 20 s means the helper is gone. Below the training activity's
 * 30 s heartbeat timeout (workflows/pipeline.ts), because the wait blocks the worker's event loop and its heartbeats:
 * the attempt fails with this error rather than being timed out (and the process is free again) first.
 */
export const HELPER_TIMEOUT_MS = 20_000;

export interface HelperThreadSources {
  /** A HistogramKernel for this helper's feature group (it clears and fills only that group's bins). */
  histogram: string;
  /** The records' PartitionKernel. */
  partition: string;
}

export class HelperThread {
  private readonly control = new Int32Array(new SharedArrayBuffer(8 * 4));
  /** The helper's histogram: only its feature group's slice is written. */
  readonly hist: Float64Array;
  /** The go-left flags of the partition being run. */
  private readonly mask = new Uint8Array(new SharedArrayBuffer(256));
  /** A failed job's error message, written by the helper before it signals the job done. */
  private readonly error = new Uint8Array(new SharedArrayBuffer(ERROR_CAPACITY));
  private readonly worker: Worker;
  private generation = 0;
  private busy = false;
  /** Why the helper thread stopped when it failed outside a job (it could not start, ran out of memory). */
  private crash: Error | null = null;

  constructor(records: SharedArrayBuffer, rows: SharedArrayBuffer, histLength: number, sources: HelperThreadSources) {
    this.hist = new Float64Array(new SharedArrayBuffer(histLength * 8));
    this.worker = new Worker(
      `const { workerData } = require('node:worker_threads');
       const histogram = (${sources.histogram});
       const partition = (${sources.partition});
       const { records, rows, control, hist, mask, error } = workerData;
       const f64 = new Float64Array(records);
       const f32 = new Float32Array(records);
       const u8 = new Uint8Array(records);
       const rowIds = new Int32Array(rows);
       const offsetsLeft = new Int32Array(1024);
       const offsetsRight = new Int32Array(1024);
       let seen = 0;
       for (;;) {
         Atomics.wait(control, ${GENERATION}, seen);
         seen = Atomics.load(control, ${GENERATION});
         const op = control[${OP}];
         if (op === ${OP_EXIT}) break;
         const begin = control[${BEGIN}];
         const end = control[${END}];
         let failed = false;
         try {
           if (op === ${OP_HISTOGRAM}) histogram(hist, f32, u8, begin, end);
           else control[${RESULT}] = partition(f64, u8, rowIds, begin, end - begin, control[${BIN_BYTE}], mask, offsetsLeft, offsetsRight);
         } catch (e) {
           // Tell the waiting thread now (it cannot hear this thread's error event while it waits), then stop.
           const { written } = new TextEncoder().encodeInto(String(e && e.stack || e), error);
           control[${ERROR_BYTES}] = Math.max(1, written);
           failed = true;
         }
         Atomics.store(control, ${DONE}, seen);
         Atomics.notify(control, ${DONE});
         if (failed) break;
       }`,
      { eval: true, workerData: { records, rows, control: this.control, hist: this.hist, mask: this.mask, error: this.error } },
    );
    // An error event with no listener would be thrown from the event loop and end the whole worker process.
    this.worker.on('error', (error) => {
      this.crash = error;
    });
    // Never keeps the process alive; close() ends it.
    this.worker.unref();
  }

  /** Starts building the helper's feature group of the histogram of records [begin, end) into `hist`. */
  startHistogram(begin: number, end: number): void {
    this.start(OP_HISTOGRAM, begin, end, 0);
  }

  /** Starts partitioning records (and row ids) [begin, end) by leftMask[bin at byte binByte]; finish() returns the left count. */
  startPartition(begin: number, end: number, binByte: number, leftMask: Uint8Array): void {
    this.mask.set(leftMask);
    this.start(OP_PARTITION, begin, end, binByte);
  }

  /** Waits for the started job; returns its result (a partition's left count). */
  finish(): number {
    const c = this.control;
    // Atomics.wait returns at once when DONE already moved on; the loop covers spurious wake-ups. A helper that died
    // (its exit event cannot be heard while this thread waits) must fail the training, not hang the worker.
    for (let done = Atomics.load(c, DONE); done !== this.generation; done = Atomics.load(c, DONE)) {
      if (Atomics.wait(c, DONE, done, HELPER_TIMEOUT_MS) === 'timed-out') {
        const why = this.crash === null ? '' : ` (it stopped earlier: ${this.crash.message})`;
        throw new Error(`GBDT helper thread did not finish a job in ${HELPER_TIMEOUT_MS / 1000} s${why}`);
      }
    }
    this.busy = false;
    const errorBytes = Atomics.load(c, ERROR_BYTES);
    if (errorBytes > 0) {
      // Decode from a copy: TextDecoder refuses views of shared memory.
      throw new Error(`GBDT helper thread failed: ${new TextDecoder().decode(this.error.slice(0, errorBytes))}`);
    }
    return c[RESULT];
  }

  async close(): Promise<void> {
    // An idle helper leaves its loop; a busy one (its job abandoned by an error) is stopped where it is.
    if (!this.busy) this.start(OP_EXIT, 0, 0, 0);
    await this.worker.terminate();
  }

  private start(op: number, begin: number, end: number, binByte: number): void {
    const c = this.control;
    c[OP] = op;
    c[BEGIN] = begin;
    c[END] = end;
    c[BIN_BYTE] = binByte;
    this.busy = true;
    // The store orders the plain writes above (and the records') before the helper's Atomics.load.
    Atomics.store(c, GENERATION, ++this.generation);
    Atomics.notify(c, GENERATION);
  }
}
