// The linear fit's thread (see fit-linear.ts): Newton's method runs here, synchronously, and reports each
// iteration back; the training worker's own thread stays free to heartbeat and to hear a cancellation.
import type { ColumnarDataset } from '../ml/dataset.js';
import { trainLinear, type LinearParams } from '../ml/linear/index.js';
import { serveThreadTasks } from '../threads/serve-thread-tasks.js';

export interface LinearFitTask {
  train: ColumnarDataset;
  valid: ColumnarDataset | undefined;
  params: LinearParams;
}

serveThreadTasks({
  trainLinear: async ({ train, valid, params }: LinearFitTask, { progress }) => trainLinear(train, params, { valid, onIteration: progress }),
});
