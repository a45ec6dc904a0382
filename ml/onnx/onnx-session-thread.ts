// The scoring thread of one model version (onnx-scorer.ts `threadRows`): it owns its own onnxruntime session on the
// same bytes and runs the large batches, so the serving thread keeps parsing, validating and answering meanwhile.
import * as ort from 'onnxruntime-node';
import { serveThreadTasks, threadData } from '../../threads/serve-thread-tasks.js';

export interface SessionThreadData {
  bytes: Uint8Array;
  intraOpNumThreads?: number;
}

/** One graph input or output as plain data (what structured clone carries across the thread boundary). */
export interface TensorData {
  type: 'float32' | 'float64' | 'string' | 'int64';
  data: Float32Array | Float64Array | BigInt64Array | string[];
  dims: readonly number[];
}

export interface SessionRunTask {
  feeds: Record<string, TensorData>;
  outputNames: readonly string[];
}

const { bytes, intraOpNumThreads } = threadData<SessionThreadData>();
const session = ort.InferenceSession.create(bytes, intraOpNumThreads === undefined ? {} : { intraOpNumThreads });
// A failed create fails each run with its error (the scorer then runs on its own thread); never unhandled here.
session.catch(() => undefined);

serveThreadTasks({
  ready: async () => {
    await session;
    return true;
  },
  run: async ({ feeds, outputNames }: SessionRunTask) => {
    const tensors: Record<string, ort.Tensor> = {};
    for (const name in feeds) {
      const { type, data, dims } = feeds[name]!;
      tensors[name] = new ort.Tensor(type, data as Float64Array, dims);
    }
    const results = await (await session).run(tensors, outputNames);
    const out: Record<string, TensorData> = {};
    for (const name of outputNames) {
      const tensor = results[name]!;
      out[name] = { type: tensor.type as TensorData['type'], data: tensor.data as TensorData['data'], dims: tensor.dims };
    }
    return out;
  },
});
