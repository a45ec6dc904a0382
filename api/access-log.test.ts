import Fastify from 'fastify';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { lazyRequestLogger, OneLineRequestLog } from './access-log.js';

/** A pino logger whose lines land in `lines`, parsed. */
function capturedLogger(options: pino.LoggerOptions = {}) {
  const lines: string[] = [];
  const logger = pino({ name: 'keel-api', level: 'info', ...options }, { write: (line: string) => void lines.push(line) });
  return { logger, lines };
}

async function appWith(logger: pino.Logger) {
  const app = Fastify({ loggerInstance: logger, logController: new OneLineRequestLog(), childLoggerFactory: lazyRequestLogger, genReqId: () => 'req-1' });
  app.get('/ok/:name', async (request) => {
    if ((request.params as { name: string }).name === 'talk') request.log.warn({ step: 1 }, 'through the request logger');
    return { ok: true };
  });
  app.get('/fails', async () => {
    throw new Error('boom');
  });
  await app.ready();
  return app;
}

/** The line with the fields that differ between two runs (time, response time) fixed. */
const normalized = (line: string) => line.replace(/"time":\d+/, '"time":0').replace(/"responseTime":[0-9.e-]+/, '"responseTime":0');

describe('OneLineRequestLog', () => {
  it('when a request is answered, then its one line is the text pino itself writes for it', async () => {
    const fast = capturedLogger();
    // A mixin that adds nothing makes the controller log through pino, as any non-plain logger does.
    const viaPino = capturedLogger({ mixin: () => ({}) });
    for (const { logger } of [fast, viaPino]) {
      const app = await appWith(logger);
      const response = await app.inject({ method: 'GET', url: '/ok/a%22b?x=%0A', headers: { host: 'h"ost' } });
      expect(response.statusCode).toBe(200);
      await app.close();
    }
    expect(fast.lines).toHaveLength(1);
    expect(viaPino.lines).toHaveLength(1);
    expect(normalized(fast.lines[0]!)).toBe(normalized(viaPino.lines[0]!));
    expect(JSON.parse(fast.lines[0]!)).toMatchObject({
      level: 30,
      name: 'keel-api',
      reqId: 'req-1',
      req: { method: 'GET', url: '/ok/a%22b?x=%0A', host: 'h"ost', remoteAddress: '127.0.0.1' },
      res: { statusCode: 200 },
      msg: 'request completed',
    });
  });

  it('when a handler logs through request.log, then its line carries the request id', async () => {
    const { logger, lines } = capturedLogger();
    const app = await appWith(logger);
    await app.inject({ method: 'GET', url: '/ok/talk' });
    await app.close();
    expect(lines.map((line) => JSON.parse(line) as Record<string, unknown>)).toMatchObject([
      { level: 40, reqId: 'req-1', step: 1, msg: 'through the request logger' },
      { level: 30, reqId: 'req-1', msg: 'request completed' },
    ]);
  });

  it('when a handler throws, then the error is logged with the request id and the request line says 500', async () => {
    const { logger, lines } = capturedLogger();
    const app = await appWith(logger);
    const response = await app.inject({ method: 'GET', url: '/fails' });
    await app.close();
    expect(response.statusCode).toBe(500);
    expect(lines.map((line) => JSON.parse(line) as Record<string, unknown>)).toMatchObject([
      { level: 50, reqId: 'req-1', res: { statusCode: 500 }, err: { message: 'boom' }, msg: 'boom' },
      { level: 30, reqId: 'req-1', res: { statusCode: 500 }, msg: 'request completed' },
    ]);
  });

  it('when the logger is above info, then an answered request writes no line', async () => {
    const { logger, lines } = capturedLogger({ level: 'warn' });
    const app = await appWith(logger);
    await app.inject({ method: 'GET', url: '/ok/a' });
    await app.close();
    expect(lines).toEqual([]);
  });
});
