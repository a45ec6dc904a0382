import { readdirSync, readlinkSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { addAcceptHandles, type AcceptHandles } from './accept-handles.js';

const servers: http.Server[] = [];
const handles: AcceptHandles[] = [];
const clients: net.Socket[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.destroy();
  for (const added of handles.splice(0)) await added.close();
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

async function listening(acceptHandles = 1): Promise<{ server: http.Server; port: number; added: AcceptHandles }> {
  const server = http.createServer((_request, response) => response.end('ok'));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const added = await addAcceptHandles(server, acceptHandles);
  handles.push(added);
  return { server, port: (server.address() as net.AddressInfo).port, added };
}

/** This process's descriptors of the socket under `fd`'s inode (`socket:[N]` in /proc/self/fd). */
function descriptorsOfSocket(inode: string): number {
  return readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === inode;
    } catch {
      return false;
    }
  }).length;
}

function listeningInode(server: http.Server): string {
  const fd = (server as unknown as { _handle: { fd: number } })._handle.fd;
  return readlinkSync(`/proc/self/fd/${fd}`);
}

/** Opens `count` connections and keeps this event loop busy meanwhile, so all wait in the accept queue at once. */
function connectWhileBusy(port: number, count: number): void {
  for (let i = 0; i < count; i++) {
    const client = net.connect(port, '127.0.0.1');
    client.on('error', () => undefined);
    clients.push(client);
  }
  // net.connect calls connect() on the next tick; this tick runs after those, before the loop polls again.
  process.nextTick(() => {
    const until = performance.now() + 100;
    while (performance.now() < until);
  });
}

/** How many connections the server took in during each event-loop iteration, until `count` are in. */
function connectionsPerIteration(server: http.Server, count: number): Promise<number[]> {
  return new Promise((resolve) => {
    const perIteration = [0];
    let seen = 0;
    server.on('connection', () => {
      perIteration[perIteration.length - 1]!++;
      if (++seen === count) resolve(perIteration);
    });
    const tick = () => {
      perIteration.push(0);
      if (seen < count) setImmediate(tick);
    };
    setImmediate(tick);
  });
}

describe('addAcceptHandles', () => {
  it('when asked for 4 handles, accepts on 4 descriptors of the one listening socket, and closes the 3 it added', async () => {
    const { server } = await listening();
    const inode = listeningInode(server);
    expect(descriptorsOfSocket(inode)).toBe(1);
    const added = await addAcceptHandles(server, 4);
    expect(added.count).toBe(4);
    expect(descriptorsOfSocket(inode)).toBe(4);
    await added.close();
    expect(descriptorsOfSocket(inode)).toBe(1);
  });

  it('takes in several connections per event-loop iteration where one handle takes one (Node 20: libuv 1.46)', async () => {
    const one = await listening(1);
    const alone = connectionsPerIteration(one.server, 12);
    connectWhileBusy(one.port, 12);
    expect(Math.max(...(await alone))).toBe(1);

    const four = await listening(4);
    const together = connectionsPerIteration(four.server, 12);
    connectWhileBusy(four.port, 12);
    expect(Math.max(...(await together))).toBe(4);
  });

  it('passes each connection to the server, which answers it as its own', async () => {
    const { port } = await listening(4);
    const answers = await Promise.all(
      Array.from({ length: 40 }, () =>
        new Promise<string>((resolve, reject) => {
          http.get({ host: '127.0.0.1', port, agent: false }, (response) => {
            let body = '';
            response.on('data', (chunk: Buffer) => (body += chunk.toString()));
            response.on('end', () => resolve(body));
          }).on('error', reject);
        }),
      ),
    );
    expect(answers).toEqual(Array(40).fill('ok'));
  });
});
