// A TCP proxy in front of a real server whose traffic a test can hold in one direction: a request that never
// reaches the server (hold 'requests'), or one the server carried out whose answer never comes back (hold
// 'responses'). Held bytes are buffered, not dropped, so a process stuck on the proxy stays stuck until it dies.
import net from 'node:net';

export type HeldDirection = 'requests' | 'responses' | 'none';

export interface TcpHoldProxy {
  /** host:port to give the client instead of the server's address. */
  address: string;
  hold(direction: HeldDirection): void;
  /** Client connections still open (a killed client's close must be seen before held bytes are let go). */
  openConnections(): number;
  close(): Promise<void>;
}

export async function startTcpHoldProxy(target: string): Promise<TcpHoldProxy> {
  const [targetHost, targetPort] = splitAddress(target);
  let held: HeldDirection = 'none';
  const sockets = new Set<net.Socket>();
  const flushers = new Set<() => void>();
  const clients = new Set<net.Socket>();

  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, targetHost);
    sockets.add(client).add(upstream);
    const pipe = (from: net.Socket, to: net.Socket, direction: Exclude<HeldDirection, 'none'>) => {
      const pending: Buffer[] = [];
      const flush = () => {
        if (held === direction) return;
        while (pending.length > 0 && !to.destroyed) to.write(pending.shift()!);
      };
      flushers.add(flush);
      from.on('data', (chunk: Buffer) => {
        if (held === direction || pending.length > 0) pending.push(chunk);
        else if (!to.destroyed) to.write(chunk);
        flush();
      });
      from.on('close', () => {
        flushers.delete(flush);
        to.destroy();
      });
      from.on('error', () => to.destroy());
    };
    pipe(client, upstream, 'requests');
    pipe(upstream, client, 'responses');
    clients.add(client);
    client.on('close', () => {
      sockets.delete(client);
      clients.delete(client);
    });
    upstream.on('close', () => sockets.delete(upstream));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    hold(direction) {
      held = direction;
      for (const flush of flushers) flush();
    },
    openConnections: () => clients.size,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function splitAddress(address: string): [string, number] {
  const index = address.lastIndexOf(':');
  return [address.slice(0, index), Number(address.slice(index + 1))];
}
