// Listens, and shuts down in order: stop taking requests (finishing in-flight ones), then Temporal, then Postgres.
import type { FastifyInstance } from 'fastify';
import { addAcceptHandles } from './accept-handles.js';

export interface ApiServerOptions {
  app: FastifyInstance;
  host: string;
  port: number;
  /** Handles accepting on the listening socket (KEEL_ACCEPT_HANDLES; api/accept-handles.ts); default 1. */
  acceptHandles?: number;
  /** Closed after the HTTP server, in this order (e.g. the Temporal connection, then the db pool). */
  closeAfter?: Array<{ name: string; close: () => Promise<void> }>;
}

export interface RunningApiServer {
  /** e.g. http://127.0.0.1:3000 */
  url: string;
  port: number;
  close(): Promise<void>;
}

export async function startApiServer(options: ApiServerOptions): Promise<RunningApiServer> {
  const { app } = options;
  await app.listen({ host: options.host, port: options.port });
  // Without the extra handles the API still serves, only slower to take in connections when busy: not worth failing for.
  await addAcceptHandles(app.server, options.acceptHandles ?? 1).catch((error: unknown) => {
    app.log.warn({ err: error }, 'could not add accepting handles; accepting on one');
  });
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;
  const shownHost = options.host === '0.0.0.0' || options.host === '::' ? 'localhost' : options.host;
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      // Keep-alive connections busy when close began turn idle once answered; close them then, or close() never ends.
      const closeIdle = setInterval(() => app.server.closeIdleConnections(), 100);
      try {
        // The server's close() closes every accepting handle at once and waits for the connections each took in.
        await app.close();
      } finally {
        clearInterval(closeIdle);
      }
      for (const resource of options.closeAfter ?? []) {
        try {
          await resource.close();
        } catch (error) {
          app.log.error({ err: error, resource: resource.name }, 'could not close resource cleanly');
        }
      }
    })();
    return closing;
  };
  return { url: `http://${shownHost}:${port}`, port, close };
}
