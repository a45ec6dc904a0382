// Open-loop load at a fixed arrival rate. autocannon's `overallRate` is not that: each connection sends its
// per-second budget back to back and then idles, so its "half rate" is full load for half of each second.
// Here requests are due at evenly spaced instants, and latency counts from when a request was due (so a
// stalled server cannot hide its queue: no coordinated omission).
import http from 'node:http';

export interface PacedLoadOptions {
  url: string;
  headers: Record<string, string>;
  body: string;
  /** Requests per second. */
  rate: number;
  durationS: number;
  /** Open sockets at most (requests beyond them wait in the agent's queue, and that wait counts). */
  connections: number;
}

export interface PacedLoadResult {
  sent: number;
  ok: number;
  failed: number;
  p50: number;
  p99: number;
  max: number;
  /** p99 of how late the generator itself sent requests: when high, the client, not the server, fell behind. */
  sendLagP99: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export async function pacedLoad(options: PacedLoadOptions): Promise<PacedLoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.connections });
  const target = new URL(options.url);
  const body = Buffer.from(options.body);
  const headers = { ...options.headers, 'content-length': String(body.length) };
  const latencies: number[] = [];
  const sendLags: number[] = [];
  let sent = 0;
  let failed = 0;
  let outstanding = 0;
  let drained: (() => void) | undefined;

  const fire = (dueAt: number) => {
    outstanding++;
    sendLags.push(performance.now() - dueAt);
    const finish = (ok: boolean) => {
      if (ok) latencies.push(performance.now() - dueAt);
      else failed++;
      if (--outstanding === 0) drained?.();
    };
    const request = http.request(
      { host: target.hostname, port: target.port, path: target.pathname, method: 'POST', headers, agent },
      (response) => {
        response.resume();
        response.on('end', () => finish(response.statusCode === 200));
        response.on('error', () => finish(false));
      },
    );
    request.on('error', () => finish(false));
    request.end(body);
  };

  const started = performance.now();
  const total = Math.floor(options.rate * options.durationS);
  const intervalMs = 1000 / options.rate;
  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      const due = Math.min(total, Math.floor((performance.now() - started) / intervalMs) + 1);
      while (sent < due) fire(started + sent++ * intervalMs);
      if (sent >= total) {
        clearInterval(tick);
        resolve();
      }
    }, 1);
  });
  // Bounded: whatever has not answered 10 s after the last send counts as failed.
  if (outstanding > 0) {
    await new Promise<void>((resolve) => {
      drained = resolve;
      setTimeout(resolve, 10_000).unref();
    });
  }
  failed += outstanding;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  sendLags.sort((a, b) => a - b);
  const round = (ms: number) => Math.round(ms * 10) / 10;
  return {
    sent,
    ok: latencies.length,
    failed,
    p50: round(percentile(latencies, 50)),
    p99: round(percentile(latencies, 99)),
    max: round(latencies.at(-1) ?? Number.NaN),
    sendLagP99: round(percentile(sendLags, 99)),
  };
}
