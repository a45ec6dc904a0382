// Keel GBDT alone on the first <rows> flights rows (default 200k, <trees> trees, 255 leaves, <threads> threads):
// CPU and wall seconds, test AUC and a hash of the model JSON, to A/B an optimisation (same hash = same model bit
// for bit; the hash must not change with the thread count). --profile adds each phase's CPU on the calling thread
// and on the helpers, and the critical path (phase-profile.ts): what the wall time would be on idle cores.
//   npx tsx bench/train/gbdt-cpu.ts [rows] [trees] [threads] [parallelMinRows] [--profile]   (node --import tsx --cpu-prof … to profile)
import { createHash } from 'node:crypto';
import { trainGbdt, predictGbdt } from '../../ml/gbdt/index.js';
import { GBDT_PHASES, PhaseProfile } from '../../ml/gbdt/phase-profile.js';
import { rocAuc } from '../../ml/metrics/index.js';
import { loadFlightsSplit } from './load-flights.js';
import { schedstatThreadClock } from './thread-clock.js';
const positional = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const rows = Number(positional[0] ?? 200000);
const trees = Number(positional[1] ?? 100);
const numThreads = Number(positional[2] ?? 1);
const parallelMinRows = positional[3] === undefined ? undefined : Number(positional[3]);
const profile = process.argv.includes('--profile') ? new PhaseProfile(schedstatThreadClock()) : undefined;
const { train, test } = await loadFlightsSplit(rows, 100000);
const cpu0 = process.cpuUsage();
const wall0 = performance.now();
const r = await trainGbdt(train, { task: 'binary', numIterations: trees, numLeaves: 255, learningRate: 0.1 }, { numThreads, parallelMinRows, profile });
const wall = (performance.now() - wall0) / 1e3;
const c = process.cpuUsage(cpu0);
console.log('threads', numThreads, 'cpu', (c.user + c.system) / 1e6, 'wall', wall.toFixed(3), 'auc', rocAuc(test.label!, predictGbdt(r.model, test)), 'model', createHash('sha256').update(JSON.stringify(r.model)).digest('hex').slice(0, 16));
if (profile !== undefined) {
  const s = (ms: number): string => (ms / 1e3).toFixed(3).padStart(7);
  console.log('phase        main CPU s  main waits s  helpers CPU s  critical s  main wall s  sections (parallel)');
  const total = { main: 0, wait: 0, helpers: 0, critical: 0, wall: 0 };
  for (const phase of GBDT_PHASES) {
    const t = profile.phases[phase];
    total.main += t.mainCpuMs;
    total.helpers += t.helperCpuMs;
    total.wait += t.waitMs;
    total.critical += t.criticalMs;
    total.wall += t.wallMs;
    console.log(`${phase.padEnd(12)} ${s(t.mainCpuMs)}       ${s(t.waitMs)}     ${s(t.helperCpuMs)}        ${s(t.criticalMs)}    ${phase === 'other' ? '      –' : s(t.wallMs)}  ${t.sections} (${t.parallelSections})`);
  }
  console.log(`${'total'.padEnd(12)} ${s(total.main)}       ${s(total.wait)}     ${s(total.helpers)}        ${s(total.critical)}   (serial share of the critical path: ${(
    (100 * GBDT_PHASES.reduce((sum, p) => sum + (profile.phases[p].parallelSections === 0 ? profile.phases[p].criticalMs : 0), 0)) / total.critical
  ).toFixed(0)} % in phases with no parallel section)`);
}
