// The one heartbeat timer: keeps a light activity (or one long step of it) visibly alive to the workflow's
// heartbeat timeout. Outside an activity (plain tests) it does nothing.
import { Context } from '@temporalio/activity';

function currentContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}

/** Heartbeats `details` now and every `intervalMs`; returns the stop function. */
export function keepHeartbeating(details: unknown, intervalMs = 5_000): () => void {
  const context = currentContext();
  if (!context) return () => undefined;
  context.heartbeat(details);
  const timer = setInterval(() => context.heartbeat(details), intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}

/**
 * Runs one long step (a DuckDB COPY or profile can take minutes on big data) while heartbeating, and hands it
 * the activity's cancellation signal, so the heartbeat timeout only fires for a dead worker.
 */
export async function withHeartbeats<T>(
  details: unknown,
  work: (signal: AbortSignal | undefined) => Promise<T>,
  intervalMs = 5_000,
): Promise<T> {
  const stop = keepHeartbeating(details, intervalMs);
  try {
    return await work(currentContext()?.cancellationSignal);
  } finally {
    stop();
  }
}
