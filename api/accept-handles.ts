// More accepts per event-loop iteration for a busy API on Node 20. Its libuv (1.46) accepts ONE connection per
// iteration and per listening handle (libuv PR #3696): with hundreds of connections keeping the loop busy, a few
// new connections a second get in and the rest wait in the kernel's accept queue past the clients' timeouts. Extra
// handles on the same listening socket each accept one more per iteration (each is its own descriptor of the one
// socket, registered with epoll on its own). Node has no dup(); a descriptor passed over an IPC channel arrives as a
// new one, so a short-lived child hands the socket back `count` times (what node:cluster does with SCHED_NONE).
import { spawn } from 'node:child_process';
import type { Server as HttpServer } from 'node:http';

/** The child: returns every handle it is sent, then closes its own copy. Plain JS, no loader (all 15 in 120–180 ms here). */
const ECHO_HANDLES = `process.on('message', (m, h) => process.send(m, h, () => h.close()));`;

/** Past this the child is killed and the server accepts on its own handle alone (it answers in well under a second). */
const DEFAULT_COPY_TIMEOUT_MS = 10_000;

/** The libuv TCP handle under a listening net.Server (what node:cluster passes between processes). */
interface ListenHandle {
  onconnection: unknown;
  listen(backlog: number): number;
  close(): void;
}

export interface AcceptHandles {
  /** How many handles accept on the socket, the server's own included. */
  count: number;
  /** Closes the added handles (server.close() does too). */
  close(): Promise<void>;
}

export interface AcceptHandlesOptions {
  /** The backlog the server listened with: each added handle listens again, which sets it anew (Node's default 511). */
  backlog?: number;
  /** How long the handle-copying child may take. */
  timeoutMs?: number;
}

/**
 * Adds `count - 1` handles that accept on `server`'s listening socket for the server itself: a connection taken in
 * by any of them is the server's own (its connection count, maxConnections, socket options), and server.close()
 * closes them with its own handle, so it stops accepting on all at once and waits for every connection. `count` 1
 * adds none.
 */
export async function addAcceptHandles(server: HttpServer, count: number, options: AcceptHandlesOptions = {}): Promise<AcceptHandles> {
  const own = (server as unknown as { _handle?: ListenHandle | null })._handle;
  if (!own || !server.listening) throw new Error('addAcceptHandles: the server must be listening');
  if (count <= 1) return { count: 1, close: async () => undefined };
  const copies = await duplicateHandle(own, count - 1, options.timeoutMs ?? DEFAULT_COPY_TIMEOUT_MS);
  // net.Server's connection callback finds its server under this symbol on the handle (Node's owner_symbol).
  const ownerSymbol = Object.getOwnPropertySymbols(own).find((symbol) => symbol.description === 'owner_symbol');
  let open = true;
  const closeCopies = () => {
    if (!open) return;
    open = false;
    for (const copy of copies) copy.close();
  };
  if (!ownerSymbol) {
    closeCopies();
    throw new Error('addAcceptHandles: the listening handle has no owner_symbol (a Node version this was not made for)');
  }
  for (const copy of copies) {
    copy.onconnection = own.onconnection;
    (copy as unknown as Record<symbol, unknown>)[ownerSymbol] = server;
    const error = copy.listen(options.backlog ?? 511);
    if (error !== 0) {
      closeCopies();
      throw new Error(`addAcceptHandles: listen on a copied handle failed (${error})`);
    }
  }
  const serverClose = server.close;
  server.close = function close(this: HttpServer, ...args: Parameters<HttpServer['close']>) {
    closeCopies();
    return serverClose.apply(this, args);
  };
  return { count, close: async () => closeCopies() };
}

/** `count` new descriptors of the socket under `handle`, each as a handle of this process. */
function duplicateHandle(handle: ListenHandle, count: number, timeoutMs: number): Promise<ListenHandle[]> {
  const child = spawn(process.execPath, ['-e', ECHO_HANDLES], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], env: {} });
  const copies: ListenHandle[] = [];
  let timer: NodeJS.Timeout | undefined;
  return new Promise<ListenHandle[]>((resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`the handle-copying child sent ${copies.length} of ${count} in ${timeoutMs} ms`)), timeoutMs);
    child.once('error', reject);
    child.once('exit', (code, signal) => reject(new Error(`the handle-copying child exited (${code ?? signal}) after ${copies.length} of ${count}`)));
    child.on('message', (_message, copy) => {
      if (!copy) return;
      copies.push(copy as unknown as ListenHandle);
      if (copies.length === count) resolve(copies);
    });
    for (let i = 0; i < count; i++) child.send('handle', handle as never, (error) => error && reject(error));
  }).then(
    (all) => {
      child.disconnect();
      return all;
    },
    (error: unknown) => {
      for (const copy of copies) copy.close();
      child.kill('SIGKILL');
      throw error;
    },
  ).finally(() => {
    clearTimeout(timer);
    child.removeAllListeners('exit');
  });
}
