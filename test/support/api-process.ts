// The real API (api/main.ts) in its own process, so a fault test can SIGKILL it in the middle of a request.
import path from 'node:path';
import { startProcess, waitFor, type ManagedProcess } from '../../dev/child-process.js';
import { freePort } from '../../dev/temporal-dev-server.js';

export interface ApiProcess {
  url: string;
  process: ManagedProcess;
  /** The process's output so far (for a failing test's message). */
  output: string[];
}

const projectRoot = path.resolve(import.meta.dirname, '../..');

/** Starts the API with `env` on top of this process's environment; resolves once /healthz answers. */
export async function startApiProcess(env: Record<string, string>): Promise<ApiProcess> {
  const port = await freePort();
  const output: string[] = [];
  const child = startProcess('api', process.execPath, ['--import', 'tsx', path.join(projectRoot, 'api/main.ts')], {
    cwd: projectRoot,
    env: { ...process.env, LOG_LEVEL: 'warn', HOST: '127.0.0.1', PORT: String(port), ...env },
    onOutput: (line) => output.push(line),
  });
  let exitCode: number | null | undefined;
  void child.exited.then((code) => (exitCode = code));
  const url = `http://127.0.0.1:${port}`;
  await waitFor('the API process', async () => (await fetch(`${url}/healthz`)).ok, {
    timeoutMs: 90_000,
    failed: () => (exitCode !== undefined ? `exited with ${exitCode}: ${output.slice(-5).join(' | ')}` : undefined),
  });
  return { url, process: child, output };
}
