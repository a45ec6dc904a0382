// The messages between a thread pool and its threads.
import type { SerializedError } from './thread-errors.js';

export type ToThread = { type: 'run'; id: number; task: string; input: unknown } | { type: 'abort'; id: number };

export type FromThread =
  | { type: 'done'; id: number; value: unknown }
  | { type: 'failed'; id: number; error: SerializedError }
  | { type: 'progress'; id: number; details: unknown };

/** What every thread is started with: its module, and the data that module builds its dependencies from. */
export interface ThreadStartData {
  module: string;
  data: unknown;
}
