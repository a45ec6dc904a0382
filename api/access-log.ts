// One access-log line per request: Fastify's default writes two ("incoming request", "request completed") at info,
// which cost a predict request more CPU than scoring it. The line of an answered request is written from the pieces
// pino keeps (level, time, bindings, serializers, destination) without a per-request child logger: the same text pino
// would write (tested), for a fifth to a third less CPU per line (a microbenchmark in bench/serve/README.md).
import { tracingChannel } from 'node:diagnostics_channel';
import { LogController, type FastifyBaseLogger, type FastifyReply, type FastifyRequest } from 'fastify';
import pino from 'pino';
import { isAuthRefusal } from './auth/auth-plugin.js';

const symbols = pino.symbols;
/** Not in pino's type declarations. */
const msgPrefixSym = (pino.symbols as unknown as Record<string, symbol | undefined>).msgPrefixSym;
/** pino traces each line it builds on this channel (pino ≥ 9.x); a subscriber must see the access lines too. */
const pinoAsJson = tracingChannel('pino_asJson');
/** Binding keys pino's child() leaves out of the bindings it writes. */
const UNWRITTEN_BINDINGS = new Set(['level', 'serializers', 'formatters', 'customLevels']);

/** What a completed line is made of, read once per logger; undefined when pino would write something else. */
interface LineParts {
  /** `{"level":30` as this logger writes its info level. */
  levelHead: string;
  time: () => string;
  /** Read per line: `setBindings` on the parent replaces them. */
  chindings: () => string;
  /** `"reqId"` as pino writes the key. */
  requestIdKey: string;
  serializeReq: (request: FastifyRequest) => unknown;
  serializeRes: (reply: FastifyReply) => unknown;
  end: string;
  stream: { write(line: string): unknown };
}

type PinoInternals = Record<symbol, unknown>;

/**
 * The pieces, when the logger is a plain pino logger: no mixin, log formatter, hooks, nested key, message prefix,
 * redaction or custom stringifier of the fields written, and a destination that needs no per-line metadata.
 */
function linePartsOf(logger: FastifyBaseLogger, requestIdLabel: string): LineParts | undefined {
  const internals = logger as unknown as PinoInternals;
  const chindings = internals[symbols.chindingsSym];
  const serializers = internals[symbols.serializersSym] as Record<string, ((value: unknown) => unknown) | undefined> | undefined;
  const stringifiers = internals[symbols.stringifiersSym] as Record<string | symbol, unknown> | undefined;
  const formatters = internals[symbols.formattersSym] as { log?: unknown; bindings?: unknown } | undefined;
  const hooks = internals[symbols.hooksSym] as { logMethod?: unknown; streamWrite?: unknown } | undefined;
  const stream = internals[symbols.streamSym] as ({ write(line: string): unknown } & PinoInternals) | undefined;
  const levelCache = internals[symbols.lsCacheSym] as Record<number, string> | undefined;
  const time = internals[symbols.timeSym] as (() => string) | undefined;
  const end = internals[symbols.endSym];
  const infoLevel = (logger as pino.Logger).levels?.values.info;
  if (typeof chindings !== 'string' || typeof infoLevel !== 'number' || !serializers?.req || !serializers.res || !stringifiers || !formatters || !hooks || !stream || !levelCache) {
    return undefined;
  }
  const touched = [requestIdLabel, 'req', 'res', 'responseTime', 'msg'];
  // A bindings formatter that changes the request id binding (the default one returns the bindings as they are).
  const probe = { [requestIdLabel]: 'probe' };
  const bindingsFormatted = typeof formatters.bindings === 'function' ? (formatters.bindings as (b: object) => unknown)(probe) : probe;
  // A key pino would escape or leave out: its own code path, not this one.
  const requestIdKey = JSON.stringify(requestIdLabel);
  const plain =
    requestIdKey === `"${requestIdLabel}"` &&
    !UNWRITTEN_BINDINGS.has(requestIdLabel) &&
    bindingsFormatted === probe &&
    internals[symbols.mixinSym] === undefined &&
    formatters.log === undefined &&
    hooks.logMethod === undefined &&
    hooks.streamWrite === undefined &&
    internals[symbols.nestedKeySym] === null &&
    internals[symbols.messageKeySym] === 'msg' &&
    (msgPrefixSym === undefined || typeof internals[msgPrefixSym] !== 'string') &&
    stringifiers[symbols.wildcardFirstSym] === undefined &&
    touched.every((key) => stringifiers[key] === undefined && (key === 'req' || key === 'res' || serializers[key] === undefined)) &&
    stream[symbols.needsMetadataGsym] !== true &&
    typeof levelCache[infoLevel] === 'string' &&
    typeof time === 'function' &&
    typeof end === 'string';
  if (!plain) return undefined;
  const req = serializers.req;
  const res = serializers.res;
  return {
    levelHead: levelCache[infoLevel]!,
    time: time.bind(logger),
    chindings: () => internals[symbols.chindingsSym] as string,
    requestIdKey,
    serializeReq: (request) => req(request),
    serializeRes: (reply) => res(reply),
    end: end as string,
    stream,
  };
}

function forward(logger: FastifyBaseLogger, level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent', args: unknown[]): void {
  (logger[level] as (...values: unknown[]) => void).apply(logger, args);
}

/**
 * Fastify's child logger for a request, made only when something logs through it: an answered request's access line
 * does not, and making a pino child per request (bindings turned to text) was ~1 % of a one-row predict's CPU.
 */
class LazyRequestLogger implements FastifyBaseLogger {
  private made: FastifyBaseLogger | undefined;

  constructor(
    readonly parent: FastifyBaseLogger,
    readonly bindings: pino.Bindings,
    readonly options: pino.ChildLoggerOptions,
  ) {}

  /** The real child logger (made on first use). */
  get logger(): FastifyBaseLogger {
    return (this.made ??= this.parent.child(this.bindings, this.options));
  }

  /** Whether an info line would be written (by the child if it was made: its level may have been changed). */
  infoEnabled(): boolean {
    return ((this.made ?? this.parent) as pino.Logger).isLevelEnabled('info');
  }

  get level(): string {
    return this.made?.level ?? this.options.level ?? this.parent.level;
  }
  set level(level: string) {
    this.logger.level = level;
  }

  // Prototype methods, not arrow fields: one logger per request, and fields would be seven closures each.
  fatal(...args: unknown[]): void {
    forward(this.logger, 'fatal', args);
  }
  error(...args: unknown[]): void {
    forward(this.logger, 'error', args);
  }
  warn(...args: unknown[]): void {
    forward(this.logger, 'warn', args);
  }
  info(...args: unknown[]): void {
    forward(this.logger, 'info', args);
  }
  debug(...args: unknown[]): void {
    forward(this.logger, 'debug', args);
  }
  trace(...args: unknown[]): void {
    forward(this.logger, 'trace', args);
  }
  silent(...args: unknown[]): void {
    forward(this.logger, 'silent', args);
  }

  child(bindings: pino.Bindings, options?: pino.ChildLoggerOptions): FastifyBaseLogger {
    return this.logger.child(bindings, options);
  }
}

/** Fastify's `childLoggerFactory`: request loggers made lazily (see LazyRequestLogger). */
export function lazyRequestLogger(logger: FastifyBaseLogger, bindings: pino.Bindings, options: pino.ChildLoggerOptions): FastifyBaseLogger {
  return new LazyRequestLogger(logger, bindings, options);
}

/** Logs each request once, when it is answered, with the request fields the incoming line carried. */
export class OneLineRequestLog extends LogController {
  private readonly parts = new WeakMap<FastifyBaseLogger, LineParts | null>();

  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    // Refused tokens are counted and summed up by the auth plugin: anyone can send junk, one line each would be a flood.
    if (this.isLogDisabled(request) || isAuthRefusal(request)) return;
    if (error) {
      reply.log.error({ req: request, res: reply, err: error, responseTime: reply.elapsedTime }, 'request errored');
      return;
    }
    const log = reply.log;
    const parts = log instanceof LazyRequestLogger ? this.linePartsFor(log) : undefined;
    if (parts === undefined || !(log instanceof LazyRequestLogger)) {
      log.info({ req: request, res: reply, responseTime: reply.elapsedTime }, 'request completed');
      return;
    }
    if (!log.infoEnabled()) return;
    const line = this.fastLine(parts, log, request, reply);
    if (line === undefined) log.info({ req: request, res: reply, responseTime: reply.elapsedTime }, 'request completed');
    else parts.stream.write(line);
  }

  /**
   * What pino's write would make of the child's bindings and { req, res, responseTime }, or undefined when pino would
   * take another branch for these values (a serializer's output that is not an object, an id that is not a string,
   * something JSON.stringify refuses, a subscriber to pino's trace channel).
   */
  private fastLine(parts: LineParts, log: LazyRequestLogger, request: FastifyRequest, reply: FastifyReply): string | undefined {
    const requestId: unknown = log.bindings[this.requestIdLogLabel];
    if (typeof requestId !== 'string' || pinoAsJson.hasSubscribers) return undefined;
    const time = parts.time();
    const req: unknown = parts.serializeReq(request);
    const res: unknown = parts.serializeRes(reply);
    // typeof null is 'object' too, and both write it as null.
    if (typeof req !== 'object' || typeof res !== 'object') return undefined;
    let reqText: string | undefined;
    let resText: string | undefined;
    try {
      reqText = JSON.stringify(req);
      resText = JSON.stringify(res);
    } catch {
      return undefined;
    }
    // A toJSON that returns undefined: pino leaves the field out.
    if (reqText === undefined || resText === undefined) return undefined;
    const responseTime = reply.elapsedTime;
    return (
      `${parts.levelHead}${time}${parts.chindings()},${parts.requestIdKey}:${JSON.stringify(requestId)}` +
      `,"req":${reqText},"res":${resText}` +
      `,"responseTime":${Number.isFinite(responseTime) ? responseTime : null},"msg":"request completed"${parts.end}`
    );
  }

  /** The parts of a request logger's line: only for a child without options (a route's own level or serializers) of a plain pino parent. */
  private linePartsFor(log: LazyRequestLogger): LineParts | undefined {
    if (log.options.level !== undefined || log.options.serializers !== undefined) return undefined;
    let parts = this.parts.get(log.parent);
    if (parts === undefined) {
      parts = linePartsOf(log.parent, this.requestIdLogLabel) ?? null;
      this.parts.set(log.parent, parts);
    }
    return parts ?? undefined;
  }
}
