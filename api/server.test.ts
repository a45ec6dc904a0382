import http from 'node:http';
import net from 'node:net';
import Fastify from 'fastify';
import { expect, it } from 'vitest';
import { startApiServer } from './server.js';

function get(port: number, path: string): Promise<string> {
  return new Promise((resolve) => {
    http.get({ host: '127.0.0.1', port, path, agent: false }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve(`${response.statusCode} ${body}`));
    }).on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

it('when closing with requests in flight on several accepting handles, then it takes in no new connection and ends once they are answered', async () => {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let arrived = 0;
  let allArrived!: () => void;
  const allIn = new Promise<void>((resolve) => (allArrived = resolve));
  const app = Fastify();
  app.get('/hold', async () => {
    if (++arrived === 12) allArrived();
    await released;
    return 'held';
  });
  const running = await startApiServer({ app, host: '127.0.0.1', port: 0, acceptHandles: 4 });
  const held = Array.from({ length: 12 }, () => get(running.port, '/hold'));
  // Busy while the 12 connect, so every handle takes some of them in.
  process.nextTick(() => {
    const until = performance.now() + 100;
    while (performance.now() < until);
  });
  await allIn;
  let closed = false;
  const closing = running.close().then(() => (closed = true));
  await new Promise((resolve) => setTimeout(resolve, 100));
  const during = await new Promise<string>((resolve) => {
    const client = net.connect(running.port, '127.0.0.1');
    client.once('connect', () => (client.destroy(), resolve('connected')));
    client.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
  expect(closed).toBe(false);
  release();
  expect(await Promise.all(held)).toEqual(Array(12).fill('200 held'));
  await closing;
  expect(during).toBe('ECONNREFUSED');
});
