// More accepts per event-loop iteration for a busy API on Node 20. Its libuv (1.46) accepts ONE connection per
// iteration and per listening handle (libuv PR #3696): with hundreds of connections keeping the loop busy, a few
// new connections a second get in and the rest wait in the kernel's accept queue past the clients' timeouts. Extra
// handles on the same listening socket each accept one more per iteration (each is its own descriptor of the one
// socket, registered with epoll on its own). Node has no dup(); a descriptor passed over an IPC channel arrives as a
// new one, so a short-lived child hands the socket back `count` times (what node:cluster does with SCHED_NONE).
import { spawn } from 'node:child_process';
import type { Server as HttpServer } from 'node:http';
import net from 'node:net';

/** The child: returns every handle it is sent, then closes its own copy. Plain JS, no loader (all 15 in 120–180 ms here). */
const ECHO_HANDLES = `process.on('message', (m, h) => process.send(m, h, () => h.close()));`;

/** The libuv TCP handle under a listening net.Server (what node:cluster passes between processes). */
type ListenHandle = object;

export interface AcceptHandles {
  /** How many handles accept on the socket, the server's own included. */
  count: number;
  close(): Promise<void>;
}

/**
 * Adds `count - 1` handles that accept on `server`'s listening socket and pass each connection to it, as if it had
 * accepted it itself. `count` 1 adds none. Closed by the returned close() (the server's own close() does not know
 * them).
 */
export async function addAcceptHandles(server: HttpServer, count: number): Promise<AcceptHandles> {
  const own = (server as unknown as { _handle?: ListenHandle | null })._handle;
  if (!own || !server.listening) throw new Error('addAcceptHandles: the server must be listening');
  if (count <= 1) return { count: 1, close: async () => undefined };
  const copies = await duplicateHandle(own, count - 1);
  const extra = copies.map((handle) => {
    // The options http.Server gives its own net.Server: sockets accepted here must behave as the server's.
    const acceptor = net.createServer({ allowHalfOpen: true, noDelay: true }, (socket) => server.emit('connection', socket));
    acceptor.on('error', (error) => server.emit('error', error));
    acceptor.listen(handle);
    return acceptor;
  });
  return {
    count,
    close: () => Promise.all(extra.map((acceptor) => new Promise<void>((resolve) => acceptor.close(() => resolve())))).then(() => undefined),
  };
}

/** `count` new descriptors of the socket under `handle`, each as a handle of this process. */
function duplicateHandle(handle: ListenHandle, count: number): Promise<ListenHandle[]> {
  const child = spawn(process.execPath, ['-e', ECHO_HANDLES], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], env: {} });
  return new Promise<ListenHandle[]>((resolve, reject) => {
    const copies: ListenHandle[] = [];
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the handle-copying child exited (${code}) after ${copies.length} of ${count}`)));
    child.on('message', (_message, copy) => {
      if (!copy) return;
      copies.push(copy as ListenHandle);
      if (copies.length === count) resolve(copies);
    });
    for (let i = 0; i < count; i++) child.send('handle', handle as net.Server);
  }).finally(() => {
    child.removeAllListeners('exit');
    child.disconnect();
  });
}
