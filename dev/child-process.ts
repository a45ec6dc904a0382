// Owning child processes: start, wait until ready, stop with a signal then SIGKILL, never leave orphans.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

export interface StopOptions {
  /** How long the child may take after the signal before it (and its process group) is SIGKILLed; default 10 s. */
  graceMs?: number;
  /** Default SIGTERM; Postgres wants SIGINT (fast shutdown; SIGTERM waits for every client to leave). */
  signal?: NodeJS.Signals;
}

export interface ManagedProcess {
  name: string;
  child: ChildProcess;
  exited: Promise<number | null>;
  /** Resolves once the child is gone; true if it had to be SIGKILLed. Repeated calls share the first stop. */
  stop(options?: StopOptions): Promise<{ killed: boolean }>;
}

/** Children still running, SIGKILLed (with their process groups) if this process exits without stopping them. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) killGroup(child, 'SIGKILL');
});

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    // Negative pid: the child's whole process group (it leads one, see `detached` below).
    process.kill(-child.pid, signal);
  } catch {
    child.kill(signal);
  }
}

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

export function startProcess(
  name: string,
  command: string,
  args: string[],
  options: SpawnOptions & { onOutput?: (line: string) => void } = {},
): ManagedProcess {
  const { onOutput, ...spawnOptions } = options;
  // Its own process group: a terminal's Ctrl-C (SIGINT to the foreground group) reaches only the owner, which
  // then stops its children in dependency order instead of all of them stopping at once.
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true, ...spawnOptions });
  running.add(child);
  const exited = new Promise<number | null>((resolve) => {
    child.on('exit', (code, signal) => {
      running.delete(child);
      resolve(code ?? (signal ? -1 : null));
    });
    child.on('error', () => {
      running.delete(child);
      resolve(-1);
    });
  });
  const forward = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') onOutput?.(line);
  };
  child.stdout?.on('data', forward);
  child.stderr?.on('data', forward);
  let stopping: Promise<{ killed: boolean }> | undefined;
  const stop = ({ graceMs = 10_000, signal = 'SIGTERM' }: StopOptions = {}) => {
    stopping ??= (async () => {
      if (hasExited(child) || child.pid === undefined) return { killed: false };
      let killed = false;
      child.kill(signal);
      const timer = setTimeout(() => {
        killed = true;
        killGroup(child, 'SIGKILL');
      }, graceMs);
      await exited;
      clearTimeout(timer);
      return { killed };
    })();
    return stopping;
  };
  return { name, child, exited, stop };
}

export async function waitFor(
  what: string,
  probe: () => Promise<boolean>,
  { timeoutMs = 60_000, intervalMs = 200, failed }: { timeoutMs?: number; intervalMs?: number; failed?: () => string | undefined } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const failure = failed?.();
    if (failure) throw new Error(`${what}: ${failure}`);
    try {
      if (await probe()) return;
    } catch {
      // not ready yet
    }
    if (Date.now() > deadline) throw new Error(`${what} was not ready within ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
