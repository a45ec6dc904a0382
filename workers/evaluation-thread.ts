// The pipeline worker's evaluation thread (threads/thread-pool.ts): scores candidate and champion on the holdout
// off the worker's event loop, with its own database pool and artifact store built from the worker's config.
import pino from 'pino';
import { FsArtifactStore } from '../artifacts/fs-artifact-store.js';
import { createDb } from '../db/client.js';
import { evaluateCandidate } from '../evaluation/evaluate-candidate.js';
import { serveThreadTasks, threadData } from '../threads/serve-thread-tasks.js';
import type { EvaluateModelInput } from '../workflows/contracts/pipeline-activities.js';

export interface EvaluationThreadData {
  databaseUrl: string;
  artifactDir: string;
  logLevel: string;
}

const data = threadData<EvaluationThreadData>();
const logger = pino({ name: 'keel-worker-pipeline-evaluation', level: data.logLevel });
// One evaluation at a time per thread: a report read and one insert.
const { db } = createDb(data.databaseUrl, { logger, max: 2 });
const artifacts = new FsArtifactStore(data.artifactDir);

serveThreadTasks({
  evaluateModel: (input: EvaluateModelInput) => evaluateCandidate({ db, artifacts }, input),
});
