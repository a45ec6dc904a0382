// Keeps one child of `npm start` running: a crash is printed once and the child restarted with backoff (1 s,
// doubling to 30 s, back to 1 s after a minute up); a stop, also one during a backoff, ends it for good.
import type { ManagedProcess } from './child-process.js';

export interface RestartPolicy {
  /** Wait before the first restart; default 1 s. */
  initialDelayMs: number;
  /** The doubling stops here; default 30 s. */
  maxDelayMs: number;
  /** A child up at least this long crashed for a new reason: the next wait starts over; default 60 s. */
  resetAfterMs: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicy = { initialDelayMs: 1_000, maxDelayMs: 30_000, resetAfterMs: 60_000 };

/** The wait before restarting a child that was up `uptimeMs`, after the previous wait `previousDelayMs` (none: 0). */
export function nextRestartDelay(previousDelayMs: number, uptimeMs: number, policy: RestartPolicy = DEFAULT_RESTART_POLICY): number {
  if (previousDelayMs <= 0 || uptimeMs >= policy.resetAfterMs) return policy.initialDelayMs;
  return Math.min(previousDelayMs * 2, policy.maxDelayMs);
}

export interface SupervisedProcess {
  name: string;
  /** The child running now (undefined while waiting to restart or once stopped). */
  current(): ManagedProcess | undefined;
  /** Ends supervision: cancels a pending restart and stops the running child; repeated calls share the first. */
  stop(options?: { graceMs?: number }): Promise<{ killed: boolean }>;
}

export interface SuperviseOptions {
  /** Starts the child (again). */
  spawn: () => ManagedProcess;
  /** One line per event. */
  log: (line: string) => void;
  policy?: RestartPolicy;
  /** Called with each new child, the first one included (a test waits for restarts with it). */
  onSpawn?: (child: ManagedProcess) => void;
}

export function superviseProcess(name: string, options: SuperviseOptions): SupervisedProcess {
  const policy = options.policy ?? DEFAULT_RESTART_POLICY;
  let child: ManagedProcess | undefined;
  let stopping: Promise<{ killed: boolean }> | undefined;
  let lastDelayMs = 0;
  let restartTimer: NodeJS.Timeout | undefined;

  const start = () => {
    const startedAt = Date.now();
    const started = options.spawn();
    child = started;
    options.onSpawn?.(started);
    void started.exited.then((code) => {
      if (child === started) child = undefined;
      if (stopping) return;
      const uptimeMs = Date.now() - startedAt;
      lastDelayMs = nextRestartDelay(lastDelayMs, uptimeMs, policy);
      const signal = started.child.signalCode;
      const how = signal ? `was killed by ${signal}` : `exited with code ${code ?? 'unknown'}`;
      options.log(`${name} ${how} after ${formatSeconds(uptimeMs)}; restarting in ${formatSeconds(lastDelayMs)}`);
      restartTimer = setTimeout(() => {
        restartTimer = undefined;
        if (!stopping) start();
      }, lastDelayMs);
    });
  };
  start();

  return {
    name,
    current: () => child,
    stop: (stopOptions = {}) => {
      stopping ??= (async () => {
        clearTimeout(restartTimer);
        restartTimer = undefined;
        return child ? child.stop({ graceMs: stopOptions.graceMs }) : { killed: false };
      })();
      return stopping;
    },
  };
}

function formatSeconds(ms: number): string {
  return ms < 1_000 ? `${ms} ms` : `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
}
