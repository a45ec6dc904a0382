// bench/load accept probe: does the server accept 1,000 connections while it is saturated? The bare echo route in its
// own process, autocannon at N connections, and every 2 s the listen socket's accept queue (`ss`: Recv-Q of Send-Q),
// the server's established connections and half-open ones; at the end how many connections never got a response.
// Usage: npx tsx bench/load/accept-probe.ts [--connections 1000] [--duration 25] [--backlog 511] [--cluster]
//          [--accept-handles N]
// --accept-handles N: N handles accept on the echo app's listening socket (api/accept-handles.ts), as the API does.
// --cluster: the echo app runs as the one worker of a round-robin `cluster` primary that only accepts (README: it does
// not help, the primary hands connections over one at a time, each waiting for the busy worker's acknowledgement).
import { execFileSync, fork } from 'node:child_process';
import cluster from 'node:cluster';
import type { EventEmitter } from 'node:events';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { addAcceptHandles } from '../../api/accept-handles.js';
import { buildEchoApp } from '../serve/echo-app.js';

function argument(name: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? process.argv[at + 1] : undefined;
}

async function server(backlog: number): Promise<void> {
  if (process.argv.includes('--cluster') && cluster.isPrimary) {
    cluster.schedulingPolicy = cluster.SCHED_RR;
    // The worker runs this file with the same arguments; its listen goes to this primary, which accepts for it.
    const worker = cluster.fork();
    worker.on('message', (message) => process.send!(message));
    worker.on('exit', (code) => process.exit(code ?? 1));
    process.once('disconnect', () => worker.kill());
    return;
  }
  const app = buildEchoApp('probe');
  const url = await app.listen({ host: '127.0.0.1', port: 0, backlog });
  await addAcceptHandles(app.server, Number(argument('accept-handles') ?? 1), { backlog });
  process.send!(url);
}

const ss = (...args: string[]) => execFileSync('ss', ['-Htn', ...args]).toString().trim();

async function probe(): Promise<void> {
  const connections = Number(argument('connections') ?? 1000);
  const duration = Number(argument('duration') ?? 25);
  const backlog = Number(argument('backlog') ?? 511);
  const acceptHandles = argument('accept-handles') ?? '1';
  const serverArgs = ['--server', String(backlog), '--accept-handles', acceptHandles, ...(process.argv.includes('--cluster') ? ['--cluster'] : [])];
  const child = fork(fileURLToPath(import.meta.url), serverArgs, { execArgv: ['--import', 'tsx'] });
  const url = await new Promise<string>((resolve) => child.once('message', (message) => resolve(String(message))));
  const port = new URL(url).port;
  const started = Date.now();
  const watch = setInterval(() => {
    const listen = ss('-l', `sport = :${port}`).split(/\s+/);
    const established = ss('state', 'established', `sport = :${port}`).split('\n').filter(Boolean).length;
    const halfOpen = ss('state', 'syn-recv', `sport = :${port}`).split('\n').filter(Boolean).length;
    console.log(`${((Date.now() - started) / 1000).toFixed(0)} s: accept queue ${listen[1]} of ${listen[2]}, established ${established}, syn-recv ${halfOpen}`);
  }, 2000);
  const responses: number[] = [];
  let timeouts = 0;
  const result = await autocannon({
    url: `${url}/v1/models/probe/predict`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ features: [{ month: 1 }] }),
    connections,
    duration,
    setupClient: (client) => {
      const index = responses.push(0) - 1;
      (client as unknown as EventEmitter).on('response', () => responses[index]!++);
      (client as unknown as EventEmitter).on('timeout', () => timeouts++);
    },
  });
  clearInterval(watch);
  child.kill();
  const never = responses.filter((count) => count === 0).length;
  const how = (process.argv.includes('--cluster') ? ', round-robin cluster (1 worker)' : '') + `, ${acceptHandles} accepting handle(s)`;
  console.log(`${connections} connections, ${duration} s, backlog ${backlog}${how}: ${Math.round(result.requests.average)} requests/s, p99 ${result.latency.p99} ms, ` +
    `${timeouts} timeouts; ${never} connections never got a response`);
}

if (process.argv[2] === '--server') await server(Number(process.argv[3]));
else await probe();
