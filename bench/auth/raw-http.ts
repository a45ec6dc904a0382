// bench/auth's load generators on raw keep-alive sockets with request bytes prepared before the clock starts, so the
// clients cost far less than the server they load (autocannon building a request object per junk token topped out near
// 3,300 requests/s and took the CPU the API needed: its cost showed up as API latency on 2 shared cores).
import net from 'node:net';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';

/** Splits a byte stream of HTTP/1.1 responses (no chunked bodies: Fastify sends content-length) into status codes. */
export class ResponseReader {
  private buffered: Buffer = Buffer.alloc(0);

  constructor(private readonly onResponse: (status: number) => void) {}

  push(chunk: Buffer): void {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    for (;;) {
      const headerEnd = this.buffered.indexOf('\r\n\r\n');
      if (headerEnd < 0) return;
      const head = this.buffered.subarray(0, headerEnd).toString('latin1');
      const length = Number(/content-length: *(\d+)/i.exec(head)?.[1] ?? 0);
      if (this.buffered.length < headerEnd + 4 + length) return;
      this.buffered = this.buffered.subarray(headerEnd + 4 + length);
      this.onResponse(Number(head.slice(9, 12)));
    }
  }
}

export function getRequest(url: URL, headers: Record<string, string>): Buffer {
  const lines = [`GET ${url.pathname} HTTP/1.1`, `host: ${url.host}`, ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`)];
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
}

export interface FloodResult {
  requests: number;
  seconds: number;
  rps: number;
  statuses: Record<string, number>;
  errors: number;
  /** This process's CPU time per request sent (µs): the generator's own cost. */
  cpuUsPerRequest: number;
  /** This process's CPU time over wall time (1 = one core busy). */
  cpuShare: number;
}

/**
 * Opens `connections` keep-alive sockets; `start` then sends every prepared request once. `rate` 0: each socket keeps
 * `depth` requests in flight (pipelined), as fast as answered; else requests leave at `rate`/s overall, evenly spaced
 * and without waiting for answers (open loop).
 */
export async function prepareFlood(
  url: URL,
  requests: Buffer[],
  options: { connections: number; depth: number; rate: number },
): Promise<{ start(): Promise<FloodResult> }> {
  const statuses: Record<string, number> = {};
  let answered = 0;
  let errors = 0;
  let next = 0;
  let finished: (() => void) | undefined;
  const settle = () => {
    if (answered + errors >= requests.length) finished?.();
  };
  const sockets = await Promise.all(
    Array.from({ length: options.connections }, async () => {
      const socket = net.connect({ host: url.hostname, port: Number(url.port), noDelay: true });
      const reader = new ResponseReader((status) => {
        statuses[status] = (statuses[status] ?? 0) + 1;
        answered++;
        // Closed loop: an answer frees a slot for the next request on this socket.
        if (options.rate === 0 && next < requests.length) socket.write(requests[next++]!);
        settle();
      });
      socket.on('data', (chunk) => reader.push(chunk));
      socket.on('error', () => {
        errors++;
        settle();
      });
      await new Promise((resolve) => socket.once('connect', resolve));
      return socket;
    }),
  );
  return {
    async start() {
      const cpuStart = process.cpuUsage();
      const started = performance.now();
      const done = new Promise<void>((resolve) => (finished = resolve));
      if (options.rate === 0) {
        for (const socket of sockets) {
          for (let i = 0; i < options.depth && next < requests.length; i++) socket.write(requests[next++]!);
        }
      } else {
        const intervalMs = 1000 / options.rate;
        const tick = setInterval(() => {
          const due = Math.min(requests.length, Math.floor((performance.now() - started) / intervalMs) + 1);
          while (next < due) sockets[next % sockets.length]!.write(requests[next++]!);
          if (next >= requests.length) clearInterval(tick);
        }, 1);
      }
      await done;
      const seconds = (performance.now() - started) / 1000;
      const cpu = process.cpuUsage(cpuStart);
      const cpuUs = cpu.user + cpu.system;
      for (const socket of sockets) socket.destroy();
      return {
        requests: answered,
        seconds,
        rps: answered / seconds,
        statuses,
        errors,
        cpuUsPerRequest: cpuUs / Math.max(1, requests.length),
        cpuShare: cpuUs / 1e6 / seconds,
      };
    },
  };
}

export interface ProbeResult {
  n: number;
  failed: number;
  p50: number;
  p99: number;
  max: number;
  /** This client's own event-loop delay (p99, ms): when high, the client was late reading answers, not the server. */
  clientLoopDelayP99: number;
  /** This process's CPU time over wall time. */
  clientCpuShare: number;
}

function percentile(sorted: number[], p: number): number {
  return sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/**
 * One prepared request due every 1000/rate ms until `until` settles (open loop: a due request never waits for the
 * previous answer; it takes a free keep-alive socket or opens one). Latency counts from when it was due, so neither a
 * stalled server nor a late timer hides its delay (no coordinated omission).
 */
export async function probe(url: URL, request: Buffer, rate: number, until: Promise<unknown>): Promise<ProbeResult> {
  const idle: Array<{ socket: net.Socket; done?: (status: number) => void }> = [];
  const all: net.Socket[] = [];
  const latencies: number[] = [];
  let failed = 0;
  let outstanding = 0;
  let drained: (() => void) | undefined;
  const connect = () => {
    const socket = net.connect({ host: url.hostname, port: Number(url.port), noDelay: true });
    const slot: { socket: net.Socket; done?: (status: number) => void } = { socket };
    const reader = new ResponseReader((status) => {
      const done = slot.done;
      slot.done = undefined;
      idle.push(slot);
      done?.(status);
    });
    socket.on('data', (chunk) => reader.push(chunk));
    socket.on('error', () => {
      const done = slot.done;
      slot.done = undefined;
      done?.(0);
    });
    all.push(socket);
    return slot;
  };
  const loopDelay = monitorEventLoopDelay({ resolution: 1 });
  loopDelay.enable();
  const cpuStart = process.cpuUsage();
  let stop = false;
  void until.then(() => (stop = true));
  const started = performance.now();
  for (let i = 0; !stop; i++) {
    const dueAt = started + (i * 1000) / rate;
    const wait = dueAt - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const slot = idle.pop() ?? connect();
    outstanding++;
    slot.done = (status) => {
      if (status === 200) latencies.push(performance.now() - dueAt);
      else failed++;
      if (--outstanding === 0) drained?.();
    };
    slot.socket.write(request);
  }
  if (outstanding > 0) {
    await new Promise<void>((resolve) => {
      drained = resolve;
      setTimeout(resolve, 10_000).unref();
    });
  }
  failed += outstanding;
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  loopDelay.disable();
  for (const socket of all) socket.destroy();
  latencies.sort((a, b) => a - b);
  return {
    n: latencies.length,
    failed,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    max: latencies.at(-1) ?? Number.NaN,
    clientLoopDelayP99: loopDelay.percentile(99) / 1e6,
    clientCpuShare: (cpu.user + cpu.system) / 1e6 / seconds,
  };
}
