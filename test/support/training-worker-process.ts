// A real training worker in its own process (the production entry point, on the task queue in argv[2]), so a
// test can kill -9 it mid-training. Configured like any worker: TEMPORAL_ADDRESS, DATABASE_URL, KEEL_DATA_DIR.
// With `--standby` it loads everything, then waits for a line on stdin before it connects and polls, so a test
// can have a replacement worker warm before it kills the first one.
import { once } from 'node:events';
import { runTrainingWorker } from '../../workers/training-worker.js';

const [taskQueue, mode] = process.argv.slice(2);
if (!taskQueue) {
  console.error('usage: training-worker-process.ts <task queue> [--standby]');
  process.exit(2);
}
if (mode === '--standby') await once(process.stdin, 'data');
await runTrainingWorker({ taskQueue }).catch((error: unknown) => {
  console.error('training worker failed:', error);
  process.exit(1);
});
