import Fastify from 'fastify';
import { Counter, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { registerHttpMetrics } from './metrics.js';

describe('HTTP request metrics', () => {
  it("scrapes as the same text prom-client's own Counter and Histogram write for the same requests", async () => {
    const registry = new Registry();
    const app = Fastify({ logger: false });
    const metrics = registerHttpMetrics(app, registry);

    const reference = new Registry();
    const labelNames = ['method', 'route', 'status_code'] as const;
    const counter = new Counter({ name: 'keel_http_requests_total', help: 'HTTP requests served, by method, route pattern and status code.', labelNames, registers: [reference] });
    const histogram = new Histogram({
      name: 'keel_http_request_duration_seconds',
      help: 'HTTP request duration in seconds, by method, route pattern and status code.',
      labelNames,
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [reference],
    });
    // Durations on bucket bounds, between them, past the last one; several series, some repeated.
    const requests: Array<[string, string, number, number]> = [
      ['POST', '/v1/models/:name/predict', 200, 0.0004],
      ['POST', '/v1/models/:name/predict', 200, 0.001],
      ['POST', '/v1/models/:name/predict', 200, 0.0033],
      ['POST', '/v1/models/:name/predict', 400, 0.25],
      ['GET', '/healthz', 200, 12],
      ['GET', 'unmatched', 404, 0.07],
      ['POST', '/v1/models/:name/predict', 200, 0.6],
    ];
    for (const [method, route, status, seconds] of requests) {
      metrics.record(method, route, status, seconds);
      const labels = { method, route, status_code: String(status) };
      counter.inc(labels);
      histogram.observe(labels, seconds);
    }
    expect(await registry.metrics()).toBe(await reference.metrics());
    await app.close();
  });

  it('counts requests answered by the app under their route pattern', async () => {
    const registry = new Registry();
    const app = Fastify({ logger: false });
    registerHttpMetrics(app, registry);
    app.get('/items/:id', async () => ({ ok: true }));
    await app.inject({ method: 'GET', url: '/items/1' });
    await app.inject({ method: 'GET', url: '/items/2' });
    await app.inject({ method: 'GET', url: '/nowhere' });
    const text = await registry.metrics();
    expect(text).toContain('keel_http_requests_total{method="GET",route="/items/:id",status_code="200"} 2');
    expect(text).toContain('keel_http_requests_total{method="GET",route="unmatched",status_code="404"} 1');
    expect(text).toMatch(/keel_http_request_duration_seconds_count\{method="GET",route="\/items\/:id",status_code="200"\} 2/);
    await app.close();
  });
});
