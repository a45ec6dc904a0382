// Prometheus metrics: default process metrics plus HTTP requests by route and status code.
import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

/** A registry with the process metrics; feature code adds its own metrics to it (`app.metricsRegistry`). */
export function createMetricsRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}

declare module 'fastify' {
  interface FastifyInstance {
    metricsRegistry: Registry;
  }
}

const DURATION_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
type HttpLabel = 'method' | 'route' | 'status_code';

/** One method × route × status code: its count and duration histogram (bucket counts not cumulative). */
interface HttpSeries {
  labels: Record<HttpLabel, string>;
  count: number;
  sum: number;
  buckets: Float64Array;
}

/**
 * Requests counted by method, route pattern and status code, with their durations. prom-client validates and hashes
 * the label object on every inc/observe (its label children too): ~1.5 % of a one-row predict's CPU in self time
 * (bench/serve/README.md). Here a request is one Map lookup on a joined key and a few additions; the series are
 * turned into prom-client's values only when /metrics is scraped.
 */
export class HttpRequestMetrics {
  private readonly series = new Map<string, HttpSeries>();

  record(method: string, route: string, statusCode: number, seconds: number): void {
    const key = `${route} ${method} ${statusCode}`;
    let series = this.series.get(key);
    if (series === undefined) {
      series = { labels: { method, route, status_code: String(statusCode) }, count: 0, sum: 0, buckets: new Float64Array(DURATION_BUCKETS.length + 1) };
      this.series.set(key, series);
    }
    series.count += 1;
    series.sum += seconds;
    let bucket = 0;
    while (bucket < DURATION_BUCKETS.length && seconds > DURATION_BUCKETS[bucket]!) bucket++;
    series.buckets[bucket]! += 1;
  }

  /** prom-client's counter values: one per series. */
  counterValues(): Array<{ value: number; labels: Record<HttpLabel, string> }> {
    return [...this.series.values()].map((series) => ({ value: series.count, labels: series.labels }));
  }

  /** prom-client's histogram values, as its Histogram writes them: cumulative `_bucket` per `le`, then `_sum`, `_count`. */
  histogramValues(name: string): Array<{ value: number; labels: Partial<Record<HttpLabel | 'le', string | number>>; metricName: string }> {
    const values: Array<{ value: number; labels: Partial<Record<HttpLabel | 'le', string | number>>; metricName: string }> = [];
    for (const series of this.series.values()) {
      let cumulative = 0;
      for (let b = 0; b < DURATION_BUCKETS.length; b++) {
        cumulative += series.buckets[b]!;
        values.push({ value: cumulative, labels: { le: DURATION_BUCKETS[b]!, ...series.labels }, metricName: `${name}_bucket` });
      }
      values.push({ value: series.count, labels: { le: '+Inf', ...series.labels }, metricName: `${name}_bucket` });
      values.push({ value: series.sum, labels: series.labels, metricName: `${name}_sum` });
      values.push({ value: series.count, labels: series.labels, metricName: `${name}_count` });
    }
    return values;
  }
}

/** prom-client's Counter whose values are read from `HttpRequestMetrics` when scraped. */
class ScrapedCounter extends Counter<HttpLabel> {
  constructor(
    private readonly source: HttpRequestMetrics,
    configuration: ConstructorParameters<typeof Counter<HttpLabel>>[0],
  ) {
    super(configuration);
  }

  override async get(): ReturnType<Counter<HttpLabel>['get']> {
    const base = await super.get();
    return { ...base, values: this.source.counterValues() };
  }
}

/** prom-client's Histogram whose values are read from `HttpRequestMetrics` when scraped. */
class ScrapedHistogram extends Histogram<HttpLabel> {
  constructor(
    private readonly source: HttpRequestMetrics,
    private readonly configuration: ConstructorParameters<typeof Histogram<HttpLabel>>[0],
  ) {
    super(configuration);
  }

  // prom-client's Histogram writes the scrape text from this (and `get`, for JSON, splays what it returns).
  async getForPromString(): Promise<{ name: string; help: string; type: 'histogram'; aggregator: 'sum'; values: ReturnType<HttpRequestMetrics['histogramValues']> }> {
    const { name, help } = this.configuration;
    return { name, help, type: 'histogram', aggregator: 'sum', values: this.source.histogramValues(name) };
  }
}

export function registerHttpMetrics(app: FastifyInstance, registry: Registry): HttpRequestMetrics {
  const labelNames = ['method', 'route', 'status_code'] as const;
  const metrics = new HttpRequestMetrics();
  new ScrapedCounter(metrics, {
    name: 'keel_http_requests_total',
    help: 'HTTP requests served, by method, route pattern and status code.',
    labelNames,
    registers: [registry],
  });
  new ScrapedHistogram(metrics, {
    name: 'keel_http_request_duration_seconds',
    help: 'HTTP request duration in seconds, by method, route pattern and status code.',
    labelNames,
    buckets: DURATION_BUCKETS,
    registers: [registry],
  });
  app.decorate('metricsRegistry', registry);
  // A callback hook, not an async one: it runs on every request and has nothing to await.
  app.addHook('onResponse', (request, reply, done) => {
    // The route pattern, never the raw URL: unknown paths share one label so cardinality stays bounded.
    metrics.record(request.method, request.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000);
    done();
  });
  return metrics;
}
