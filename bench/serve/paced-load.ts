// Open-loop load at a fixed arrival rate. autocannon's `overallRate` is not that: each connection sends its
// per-second budget back to back and then idles, so its "half rate" is full load for half of each second.
// Here requests are due at evenly spaced instants, and latency counts from when a request was due (so a
// stalled server cannot hide its queue: no coordinated omission).
import net from 'node:net';
import { ResponseReader } from '../auth/raw-http.js';

export interface PacedLoadOptions {
  url: string;
  headers: Record<string, string>;
  body: string;
  /** Requests per second. */
  rate: number;
  durationS: number;
  /** Keep-alive connections, one request at a time each (requests due while all are busy wait, and that wait counts). */
  connections: number;
}

export interface PacedLoadResult {
  sent: number;
  ok: number;
  failed: number;
  p50: number;
  p99: number;
  max: number;
  /** p99 of how late the generator's own timer queued requests: when high, the client, not the server, fell behind. */
  sendLagP99: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** One keep-alive connection that sends a prepared request and reads just enough of each response to find its end. */
class RawConnection {
  private readonly socket: net.Socket;
  private readonly reader = new ResponseReader((status) => this.finish(status === 200));
  private onDone: ((ok: boolean) => void) | undefined;
  busy = false;

  constructor(host: string, port: number, onFailure: () => void) {
    this.socket = net.connect({ host, port, noDelay: true });
    this.socket.on('data', (chunk) => this.reader.push(chunk));
    this.socket.on('error', () => {
      this.finish(false);
      onFailure();
    });
  }

  send(request: Buffer, done: (ok: boolean) => void): void {
    this.busy = true;
    this.onDone = done;
    this.socket.write(request);
  }

  private finish(ok: boolean): void {
    const done = this.onDone;
    this.onDone = undefined;
    this.busy = false;
    done?.(ok);
  }

  close(): void {
    this.socket.destroy();
  }
}

export async function pacedLoad(options: PacedLoadOptions): Promise<PacedLoadResult> {
  const target = new URL(options.url);
  const body = Buffer.from(options.body);
  const head = [`POST ${target.pathname} HTTP/1.1`, `host: ${target.host}`, `content-length: ${body.length}`]
    .concat(Object.entries(options.headers).map(([name, value]) => `${name}: ${value}`))
    .join('\r\n');
  // Prepared once: the generator must cost far less than the server it measures.
  const request = Buffer.concat([Buffer.from(`${head}\r\n\r\n`), body]);
  const latencies: number[] = [];
  const sendLags: number[] = [];
  const waiting: number[] = [];
  let sent = 0;
  let failed = 0;
  let outstanding = 0;
  let drained: (() => void) | undefined;

  const connections: RawConnection[] = [];
  const dispatch = (connection: RawConnection) => {
    const dueAt = waiting.shift();
    if (dueAt === undefined) return;
    connection.send(request, (ok) => {
      if (ok) latencies.push(performance.now() - dueAt);
      else failed++;
      if (--outstanding === 0) drained?.();
      dispatch(connection);
    });
  };
  for (let i = 0; i < options.connections; i++) {
    connections.push(new RawConnection(target.hostname, Number(target.port), () => undefined));
  }

  const started = performance.now();
  const total = Math.floor(options.rate * options.durationS);
  const intervalMs = 1000 / options.rate;
  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      const due = Math.min(total, Math.floor((performance.now() - started) / intervalMs) + 1);
      const now = performance.now();
      while (sent < due) {
        const dueAt = started + sent++ * intervalMs;
        sendLags.push(now - dueAt);
        waiting.push(dueAt);
        outstanding++;
      }
      // Due requests wait for a free connection, and that wait counts in their latency.
      for (const connection of connections) if (!connection.busy && waiting.length > 0) dispatch(connection);
      if (sent >= total) {
        clearInterval(tick);
        resolve();
      }
    }, 1);
  });
  // Bounded: whatever has not answered 10 s after the last was due counts as failed.
  if (outstanding > 0) {
    await new Promise<void>((resolve) => {
      drained = resolve;
      setTimeout(resolve, 10_000).unref();
    });
  }
  failed += outstanding;
  for (const connection of connections) connection.close();
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
