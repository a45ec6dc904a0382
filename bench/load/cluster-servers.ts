// bench/load predict --cluster N: bench/serve's server process run N times as node:cluster workers with SCHED_NONE
// (each worker accepts from the shared listening socket itself; no round-robin hand-off by the primary). The primary
// only relays the bench's questions: CPU is the sum over the workers and itself, memory is the first worker's.
// An experiment (bench/load README, "Timeouts at 1,000 connections"): the API does not run this way.
import cluster, { type Worker } from 'node:cluster';
import { fileURLToPath } from 'node:url';
import type { FromServers, ToServers } from '../serve/servers.js';

const workerCount = Number(process.env.KEEL_BENCH_CLUSTER_WORKERS ?? 2);
cluster.schedulingPolicy = cluster.SCHED_NONE;
cluster.setupPrimary({ exec: fileURLToPath(new URL('../serve/servers.ts', import.meta.url)), args: process.argv.slice(2) });

const workers: Worker[] = [];
for (let i = 0; i < workerCount; i++) workers.push(cluster.fork());

const reply = (worker: Worker) =>
  new Promise<FromServers>((resolve, reject) => {
    const onExit = (code: number) => reject(new Error(`worker exited (${code})`));
    worker.once('exit', onExit);
    worker.once('message', (message: FromServers) => {
      worker.off('exit', onExit);
      resolve(message);
    });
  });

const readies = await Promise.all(workers.map(reply));
// Every worker listened on port 0 in the same order, so the cluster gave them the same ports.
process.send!(readies[0]!);

process.on('message', (message: ToServers) => {
  void (async () => {
    if (message.type === 'cpu') {
      const answers = await Promise.all(workers.map((worker) => (worker.send(message), reply(worker))));
      const { user, system } = process.cpuUsage();
      const own = (user + system) / 1000;
      process.send!({ type: 'cpu', cpuMs: answers.reduce((sum, answer) => sum + (answer.type === 'cpu' ? answer.cpuMs : 0), own) } satisfies FromServers);
    } else if (message.type === 'memory') {
      const answers = await Promise.all(workers.map((worker) => (worker.send(message), reply(worker))));
      process.send!(answers[0]!);
    } else if (message.type === 'stop') {
      await Promise.all(workers.map((worker) => new Promise((resolve) => (worker.once('exit', resolve), worker.send(message)))));
      process.disconnect();
    }
  })();
});
process.once('disconnect', () => {
  for (const worker of workers) worker.kill();
  setTimeout(() => process.exit(0), 100).unref();
});
