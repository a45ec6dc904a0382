import { tracingChannel } from 'node:diagnostics_channel';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
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

/** A controller that, after its own line, writes the line pino writes for the same request through a real child logger. */
class WithPinosLine extends OneLineRequestLog {
  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    super.requestCompleted(error, request, reply);
    reply.log.child({}).info({ req: request, res: reply, responseTime: reply.elapsedTime }, 'request completed');
  }
}

/** Two requests to an app on a pino logger built from `options`; each request's line, then pino's own for it. */
async function linesBesidePinos(options: pino.LoggerOptions, controller = new WithPinosLine(), between?: (app: { log: FastifyInstance['log'] }) => void) {
  const { logger, lines } = capturedLogger({ timestamp: () => ',"time":1', ...options });
  const app = Fastify({ loggerInstance: logger, logController: controller, childLoggerFactory: lazyRequestLogger, genReqId: () => 'req-1' });
  app.get('/ok', async () => ({ ok: true }));
  await app.ready();
  await app.inject({ method: 'GET', url: '/ok' });
  between?.(app);
  await app.inject({ method: 'GET', url: '/ok' });
  await app.close();
  expect(lines).toHaveLength(4);
  return lines;
}

describe('OneLineRequestLog, loggers a first version wrote other text for', () => {
  it('when info is not level 30 (custom levels), then the line carries the level pino writes', async () => {
    const lines = await linesBesidePinos({
      customLevels: { trace: 10, debug: 20, notice: 30, info: 35, warn: 40, error: 50, fatal: 60 },
      useOnlyCustomLevels: true,
    });
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 35 });
    expect(lines[0]).toBe(lines[1]);
  });

  it('when the app logger is given more bindings after a first request, then later lines carry them', async () => {
    const lines = await linesBesidePinos({}, undefined, (app) => (app.log as pino.Logger).setBindings({ instance: 'b' }));
    expect(JSON.parse(lines[2]!)).toMatchObject({ instance: 'b', reqId: 'req-1' });
    expect(lines[2]).toBe(lines[3]);
  });

  it('when a serializer returns undefined, then the field is left out as pino does (no invalid JSON)', async () => {
    const lines = await linesBesidePinos({ serializers: { res: () => undefined } });
    expect(JSON.parse(lines[0]!)).not.toHaveProperty('res');
    expect(lines[0]).toBe(lines[1]);
  });

  it('when a serializer returns an object whose toJSON gives undefined, then the field is left out as pino does', async () => {
    const lines = await linesBesidePinos({ serializers: { res: () => ({ toJSON: () => undefined }) } });
    expect(JSON.parse(lines[0]!)).not.toHaveProperty('res');
    expect(lines[0]).toBe(lines[1]);
  });

  it('when a serializer returns what JSON.stringify refuses, then the line is pino\'s (not a thrown error)', async () => {
    const lines = await linesBesidePinos({ serializers: { res: () => ({ bytes: 1n }) } });
    expect(lines[0]).toBe(lines[1]);
  });

  it('when the request id label needs escaping, then the key is escaped as pino escapes it', async () => {
    const lines = await linesBesidePinos({}, new WithPinosLine({ requestIdLogLabel: 'req"id' }));
    expect(JSON.parse(lines[0]!)).toMatchObject({ 'req"id': 'req-1' });
    expect(lines[0]).toBe(lines[1]);
  });

  it('when something subscribes to pino\'s trace of built lines, then the access line is traced too', async () => {
    const traced: string[] = [];
    const channel = tracingChannel('pino_asJson');
    const handlers = { end: (context: object) => void traced.push(String((context as { result?: unknown }).result)) };
    channel.subscribe(handlers as never);
    try {
      const lines = await linesBesidePinos({});
      expect(lines[0]).toBe(lines[1]);
      expect(traced.filter((line) => line.includes('"msg":"request completed"'))).toHaveLength(4);
    } finally {
      channel.unsubscribe(handlers as never);
    }
  });
});
