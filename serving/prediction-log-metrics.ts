// The prediction log's Prometheus metrics, read from the log's own counters at scrape time.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { PredictionLogStats } from './prediction-log.js';

type StatsSource = () => Promise<PredictionLogStats | undefined>;

/** Registers the log's metrics on `registry`; `stats` is read on every scrape. */
export function registerPredictionLogMetrics(registry: Registry, stats: StatsSource): void {
  const counters: Array<[string, string, keyof PredictionLogStats]> = [
    ['keel_prediction_log_flushed_rows_total', 'Predictions written to Postgres.', 'flushedRows'],
    ['keel_prediction_log_failed_flushes_total', 'Batch writes that failed (the batch stays buffered and is retried).', 'failedFlushes'],
    ['keel_prediction_log_refused_rows_total', 'Rows refused with 503 because the buffer was full (nothing was scored).', 'refusedRows'],
    ['keel_prediction_log_dropped_rows_total', 'Accepted predictions that never reached Postgres; must stay 0.', 'droppedRows'],
  ];
  for (const [name, help, field] of counters) {
    let reported = 0;
    new Counter({
      name,
      help,
      registers: [registry],
      async collect() {
        const current = (await stats())?.[field] ?? reported;
        // Counters only go up: report the growth since the last scrape.
        if (current > reported) this.inc(current - reported);
        reported = Math.max(reported, current);
      },
    });
  }
  new Gauge({
    name: 'keel_prediction_log_buffered_rows',
    help: 'Predictions accepted and waiting in memory for their batch write.',
    registers: [registry],
    async collect() {
      this.set((await stats())?.bufferedRows ?? 0);
    },
  });
}
