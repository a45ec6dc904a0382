// The embedded Temporal dev server: state in a SQLite file, UI on its own port, Keel's search attributes registered.
import net from 'node:net';
import { Connection } from '@temporalio/client';
import { startProcess, waitFor, type ManagedProcess } from './child-process.js';
import type { TemporalCli } from './temporal-cli.js';
import type { TemporalConnectionOptions } from '../temporal/connection-options.js';

export const KEEL_SEARCH_ATTRIBUTES = { KeelModel: 'Keyword', KeelStage: 'Keyword' } as const;

export interface DevServerOptions {
  cli: TemporalCli;
  port: number;
  uiPort?: number;
  /** SQLite file for durable state; omit for in-memory (tests). */
  dbFilename?: string;
  namespace?: string;
  log?: (line: string) => void;
}

export interface RunningDevServer {
  address: string;
  uiUrl: string | undefined;
  stop(): Promise<void>;
}

export async function isPortFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** True once a Temporal frontend answers; `target` is an address, or full connection options (TLS, API key). */
export async function temporalReachable(target: string | TemporalConnectionOptions): Promise<boolean> {
  const options = typeof target === 'string' ? { address: target } : target;
  const connection = await Connection.connect({ ...options, connectTimeout: 2_000 });
  try {
    await connection.workflowService.getSystemInfo({});
    return true;
  } finally {
    await connection.close();
  }
}

export async function startTemporalDevServer(options: DevServerOptions): Promise<RunningDevServer> {
  const address = `127.0.0.1:${options.port}`;
  const searchAttributeArgs = Object.entries(KEEL_SEARCH_ATTRIBUTES).flatMap(([key, type]) => [
    '--search-attribute',
    `${key}=${type}`,
  ]);
  const namespaceArgs = options.namespace && options.namespace !== 'default' ? ['--namespace', options.namespace] : [];
  if (options.cli.kind === 'sdk-download') {
    // Fallback where neither a binary nor Go is available: let the SDK fetch and own the server.
    const { TestWorkflowEnvironment } = await import('@temporalio/testing');
    const env = await TestWorkflowEnvironment.createLocal({
      server: {
        executable: { type: 'cached-download' },
        ip: '127.0.0.1',
        port: options.port,
        ui: options.uiPort !== undefined,
        uiPort: options.uiPort,
        dbFilename: options.dbFilename,
        extraArgs: [...searchAttributeArgs, ...namespaceArgs],
      },
    });
    return {
      address,
      uiUrl: options.uiPort ? `http://localhost:${options.uiPort}` : undefined,
      stop: () => env.teardown(),
    };
  }
  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(options.port),
    '--log-level',
    'warn',
    ...(options.uiPort !== undefined ? ['--ui-port', String(options.uiPort)] : ['--headless']),
    ...(options.dbFilename ? ['--db-filename', options.dbFilename] : []),
    ...searchAttributeArgs,
    ...namespaceArgs,
  ];
  const output: string[] = [];
  const server: ManagedProcess = startProcess('temporal', options.cli.path, args, {
    onOutput: (line) => {
      output.push(line);
      if (output.length > 50) output.shift();
      options.log?.(line);
    },
  });
  let exitCode: number | null | undefined;
  void server.exited.then((code) => (exitCode = code));
  try {
    await waitFor('Temporal dev server', () => temporalReachable(address), {
      timeoutMs: 120_000,
      failed: () =>
        exitCode !== undefined ? `exited with ${exitCode}:\n${output.slice(-10).join('\n')}` : undefined,
    });
  } catch (error) {
    await server.stop({ graceMs: 5_000 });
    throw error;
  }
  return {
    address,
    uiUrl: options.uiPort !== undefined ? `http://localhost:${options.uiPort}` : undefined,
    stop: async () => {
      await server.stop({ graceMs: 5_000 });
    },
  };
}
