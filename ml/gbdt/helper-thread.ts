// A helper thread for the tree learner: a worker_threads worker that instantiates the learner's WebAssembly kernels
// on the same shared memory (records, row ids, histograms) and runs one kernel at a time on a range of records: a
// feature group of a leaf's histogram (written straight into the leaf's histogram), one half of a leaf's partition,
// or any other exported kernel on a range (loading a tree's records, gradients, score updates). Hand-off is a futex
// (Atomics.wait / notify), a few microseconds, because a message through the event loop would cost more than the
// kernels on all but the largest leaves. The worker is a few lines of plain JavaScript plus the compiled module: no
// module loading, started in milliseconds.

import { Worker } from 'node:worker_threads';
import type { WasmMemory, WasmModule } from './wasm-encoder.js';

const OP_EXIT = -1;
const OP_HISTOGRAM = 1;
const OP_PARTITION = 2;
const OP_CALL = 3;
/**
 * control[]: job generation, done generation, op, begin, end, byte offset of the split feature's bin, result, the
 * byte length of the helper's error message when its job threw (0: none), the histogram's byte address, the kernel
 * a call job runs (index into HelperThreadKernels.calls) and its CALL_ARGS integer arguments.
 */
const GENERATION = 0;
const DONE = 1;
const OP = 2;
const BEGIN = 3;
const END = 4;
const BIN_BYTE = 5;
const RESULT = 6;
const ERROR_BYTES = 7;
const HIST = 8;
const CALL = 9;
const ARGS = 10;
const CALL_ARGS = 8;
/** Room for a failed job's error message (UTF-8, truncated). */
const ERROR_CAPACITY = 1024;
/**
 * A job takes milliseconds (~10 ms for a million rows); 20 s means the helper is gone. Below the training activity's
 * 30 s heartbeat timeout (workflows/pipeline.ts), because the wait blocks the worker's event loop and its heartbeats:
 * the attempt fails with this error rather than being timed out (and the process is free again) first.
 */
export const HELPER_TIMEOUT_MS = 20_000;

export interface HelperThreadKernels {
  /** The learner's compiled kernels (wasm-kernels.ts) and the memory they work on. */
  module: WasmModule;
  memory: WasmMemory;
  /** The exported histogram kernel this helper runs ('group1', …: its feature group; 'histogram': all). */
  histogram: string;
  /** Byte address of this helper's partition scratch (its go-left flags first). */
  scratch: number;
  /** Exported kernels a call job may run, by name (their arguments integers). */
  calls?: readonly string[];
  /** Measure each job's CPU time with this clock (ThreadClock.helperClockSource): lastJobCpuNs. */
  clockSource?: string;
}

export class HelperThread {
  private readonly control = new Int32Array(new SharedArrayBuffer((ARGS + CALL_ARGS) * 4));
  /** [0]: the CPU nanoseconds of the last job (when profiling); the helper's clock is read only inside the helper. */
  private readonly jobCpu = new Float64Array(new SharedArrayBuffer(8));
  private readonly calls: readonly string[];
  /** The go-left flags of the partition being run (in the helper's scratch). */
  private readonly mask: Uint8Array;
  /** A failed job's error message, written by the helper before it signals the job done. */
  private readonly error = new Uint8Array(new SharedArrayBuffer(ERROR_CAPACITY));
  private readonly worker: Worker;
  private generation = 0;
  private busy = false;
  /** Why the helper thread stopped when it failed outside a job (it could not start, ran out of memory). */
  private crash: Error | null = null;

  constructor(kernels: HelperThreadKernels) {
    this.mask = new Uint8Array(kernels.memory.buffer, kernels.scratch, 256);
    this.calls = kernels.calls ?? [];
    this.worker = new Worker(
      `const { workerData } = require('node:worker_threads');
       const { module, memory, histogramName, scratch, control, error, calls, clockSource, jobCpu } = workerData;
       const kernels = new WebAssembly.Instance(module, { env: { memory } }).exports;
       const histogram = kernels[histogramName];
       const partition = kernels.partition;
       const callable = calls.map((name) => kernels[name]);
       // The profiling clock of this thread (phase-profile.ts), when one is given.
       const profile = clockSource !== null;
       const cpuNs = profile ? new Function('require', 'return (' + clockSource + ')')(require) : null;
       let seen = 0;
       for (;;) {
         Atomics.wait(control, ${GENERATION}, seen);
         seen = Atomics.load(control, ${GENERATION});
         const op = control[${OP}];
         if (op === ${OP_EXIT}) break;
         const begin = control[${BEGIN}];
         const end = control[${END}];
         let failed = false;
         const cpu0 = profile ? cpuNs() : 0;
         try {
           if (op === ${OP_HISTOGRAM}) histogram(control[${HIST}], begin, end);
           else if (op === ${OP_PARTITION}) control[${RESULT}] = partition(begin, end - begin, control[${BIN_BYTE}], scratch);
           else {
             const a = ${ARGS};
             control[${RESULT}] = callable[control[${CALL}]](control[a], control[a + 1], control[a + 2], control[a + 3], control[a + 4], control[a + 5], control[a + 6], control[a + 7]) | 0;
           }
           if (profile) jobCpu[0] = cpuNs() - cpu0;
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
      {
        eval: true,
        workerData: {
          module: kernels.module, memory: kernels.memory, histogramName: kernels.histogram, scratch: kernels.scratch, control: this.control, error: this.error,
          calls: this.calls, clockSource: kernels.clockSource ?? null, jobCpu: this.jobCpu,
        },
      },
    );
    // An error event with no listener would be thrown from the event loop and end the whole worker process.
    this.worker.on('error', (error) => {
      this.crash = error;
    });
    // Never keeps the process alive; close() ends it.
    this.worker.unref();
  }

  /** Starts building the helper's feature group of the histogram of records [begin, end) into the histogram at byte address `hist`. */
  startHistogram(hist: number, begin: number, end: number): void {
    this.assertIdle();
    this.control[HIST] = hist;
    this.start(OP_HISTOGRAM, begin, end, 0);
  }

  /** Starts partitioning records (and row ids) [begin, end) by leftMask[bin at byte binByte]; finish() returns the left count. */
  startPartition(begin: number, end: number, binByte: number, leftMask: Uint8Array): void {
    this.assertIdle();
    this.mask.set(leftMask);
    this.start(OP_PARTITION, begin, end, binByte);
  }

  /** Starts exported kernel `name` (one of HelperThreadKernels.calls) with up to 8 integer arguments; finish() returns its result as an integer. */
  startCall(name: string, args: readonly number[]): void {
    const index = this.calls.indexOf(name);
    if (index < 0 || args.length > CALL_ARGS) throw new Error(`GBDT helper thread cannot call ${name} with ${args.length} arguments`);
    this.assertIdle();
    this.control[CALL] = index;
    for (let i = 0; i < args.length; i++) this.control[ARGS + i] = args[i];
    this.start(OP_CALL, 0, 0, 0);
  }

  /** The CPU nanoseconds of the last finished job, when the helper profiles (else 0). */
  get lastJobCpuNs(): number {
    return this.jobCpu[0];
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

  /**
   * One job at a time: a job's arguments, mask and op sit in shared words the helper reads after the hand-off, so a
   * job started before finish() would rewrite them under the running one.
   */
  private assertIdle(): void {
    if (this.busy) throw new Error('GBDT helper thread is still running a job: finish() it before starting another');
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
