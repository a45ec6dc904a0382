import { DefaultLogger, Runtime, type LogLevel } from '@temporalio/worker';
import pino from 'pino';

/** One pino logger per process; Temporal's runtime logger is adapted to it. */
export function createProcessLogger(name: string, level: string): pino.Logger {
  const logger = pino({ name, level });
  const temporalLevel = (['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'].includes(level.toUpperCase())
    ? level.toUpperCase()
    : 'INFO') as LogLevel;
  Runtime.install({
    // runWorker owns the signals: the runtime's own handlers shut workers down a second time (IllegalStateError).
    shutdownSignals: [],
    logger: new DefaultLogger(temporalLevel, (entry) => {
      const method = entry.level === 'TRACE' ? 'trace' : (entry.level.toLowerCase() as 'debug' | 'info' | 'warn' | 'error');
      logger[method]({ ...entry.meta }, entry.message);
    }),
  });
  return logger;
}
