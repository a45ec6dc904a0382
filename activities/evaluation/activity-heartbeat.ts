// Heartbeats on a timer while a light activity works, so the workflow's heartbeat timeout sees it alive.
import { Context } from '@temporalio/activity';

/** Starts heartbeating every `intervalMs`; returns the stop function. Outside an activity (plain tests) it does nothing. */
export function keepHeartbeating(details: string, intervalMs = 5_000): () => void {
  let context: Context;
  try {
    context = Context.current();
  } catch {
    return () => undefined;
  }
  context.heartbeat(details);
  const timer = setInterval(() => context.heartbeat(details), intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
