import { execFileSync } from 'node:child_process';
import { readdirSync, readlinkSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

/** Resolves with the error code of a connection attempt, or 'connected'. */
function connectOutcome(port: number): Promise<string> {
  return new Promise((resolve) => {
    const client = net.connect(port, '127.0.0.1');
    clients.push(client);
    client.once('connect', () => resolve('connected'));
    client.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

/** A server whose requests wait until released, `inFlight` of them under way over as many connections, accepted while busy. */
async function holdingRequests(acceptHandles: number, inFlight: number) {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let arrived = 0;
  let allArrived!: () => void;
  const allIn = new Promise<void>((resolve) => (allArrived = resolve));
  const server = http.createServer((_request, response) => {
    if (++arrived === inFlight) allArrived();
    void released.then(() => response.end('ok'));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  handles.push(await addAcceptHandles(server, acceptHandles));
  const port = (server.address() as net.AddressInfo).port;
  const answers = Array.from({ length: inFlight }, () =>
    new Promise<string>((resolve) => {
      http.get({ host: '127.0.0.1', port, agent: false }, (response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => (body += chunk.toString()));
        response.on('end', () => resolve(body));
      }).on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    }),
  );
  process.nextTick(() => {
    const until = performance.now() + 100;
    while (performance.now() < until);
  });
  await allIn;
  return { server, port, release, answers: Promise.all(answers) };
}

describe('addAcceptHandles, when the server closes', () => {
  it('counts a connection accepted on any handle as the server\'s own', async () => {
    const { server, release, answers } = await holdingRequests(4, 12);
    const connections = await new Promise<number>((resolve) => server.getConnections((_error, n) => resolve(n)));
    release();
    await answers;
    expect(connections).toBe(12);
  });

  it('server.close() stops accepting on every handle, closes them all, and ends once every connection has', async () => {
    const { server, port, release, answers } = await holdingRequests(4, 12);
    const inode = listeningInode(server);
    let closed = false;
    server.close(() => (closed = true));
    expect(descriptorsOfSocket(inode)).toBe(0);
    expect(await connectOutcome(port)).toBe('ECONNREFUSED');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(closed).toBe(false);
    release();
    expect(await answers).toEqual(Array(12).fill('ok'));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(closed).toBe(true);
  });

  it('keeps the backlog the server listened with', async () => {
    const server = http.createServer();
    servers.push(server);
    await new Promise<void>((resolve) => server.listen({ port: 0, host: '127.0.0.1', backlog: 37 }, resolve));
    const port = (server.address() as net.AddressInfo).port;
    handles.push(await addAcceptHandles(server, 4, { backlog: 37 }));
    // ss shows a listening socket's backlog as its Send-Q.
    const line = execFileSync('ss', ['-Hltn', `sport = :${port}`]).toString().trim();
    expect(line.split(/\s+/)[2]).toBe('37');
  });
});

describe('addAcceptHandles, when the handle-copying child does not answer', () => {
  const execPath = process.execPath;
  let scratch: string | undefined;
  afterEach(async () => {
    process.execPath = execPath;
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it('gives up after the timeout, kills the child and leaves the server with its own handle', async () => {
    scratch = await mkdtemp(join(tmpdir(), 'keel-accept-'));
    const pidFile = join(scratch, 'pid');
    // Stands in for a node that never gets to run the echo script.
    const hanging = join(scratch, 'hanging-node');
    await writeFile(hanging, `#!/bin/sh\necho $$ > ${pidFile}\nexec sleep 600\n`, { mode: 0o755 });
    const { server, port } = await listening();
    const inode = listeningInode(server);
    process.execPath = hanging;
    await expect(addAcceptHandles(server, 4, { timeoutMs: 300 })).rejects.toThrow(/0 of 3/);
    process.execPath = execPath;
    const pid = Number(await readFile(pidFile, 'utf8'));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(() => process.kill(pid, 0)).toThrow();
    expect(descriptorsOfSocket(inode)).toBe(1);
    expect(await connectOutcome(port)).toBe('connected');
  });
});
