// Entry of every Keel worker thread: the modules are TypeScript, so the thread registers tsx's loader (hooks
// registered in the parent thread do not load TypeScript here under every runner), then imports its module.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.module);
