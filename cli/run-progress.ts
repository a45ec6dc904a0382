// The live view of a run: each stage with its time, and while training the iteration count and validation loss
// (from GET /v1/runs/:id `progress`, the training's last heartbeat). Redrawn in place on a terminal; elsewhere
// (pipes, CI logs) one line per change.
import type { KeelApiClient } from './api-client.js';
import { formatDuration, formatMetric, type Output } from './output.js';

export interface StageTiming {
  stage: string;
  startedAt: string;
  finishedAt?: string;
  durationMs?: number;
  /** The train stage's parts (load, split, train, metrics, export, store), once it finished. */
  parts?: { part: string; durationMs: number }[];
}

export interface TrainingProgress {
  phase: string;
  iteration: number;
  total: number;
  unit: string;
  rowsLoaded: number | null;
  validMetric: { name: string; best: number | null; bestIteration: number };
}

export interface RunDetail {
  id: string;
  model: string;
  status: string;
  stage: string;
  reason: string | null;
  modelVersion: number | null;
  timings: StageTiming[] | null;
  progress?: TrainingProgress | null;
  [field: string]: unknown;
}

const STAGES = ['ingest', 'validate', 'train', 'evaluate', 'register', 'awaiting_review', 'deploy', 'monitor'];

/** A run stops needing the machine once it waits for a person or has ended. */
export function isSettled(run: Pick<RunDetail, 'status'>): boolean {
  return run.status !== 'running';
}

/** Deployed, or waiting for a reviewer: the run did what it could. */
export function succeeded(run: Pick<RunDetail, 'status'>): boolean {
  return run.status === 'deployed' || run.status === 'awaiting_review';
}

export function progressText(progress: TrainingProgress): string {
  if (progress.phase === 'loading') return `loading${progress.rowsLoaded !== null ? ` ${progress.rowsLoaded} rows` : ''}`;
  const count = `${progress.iteration}/${progress.total} ${progress.unit}`;
  if (progress.phase === 'exporting') return `${count}, exporting`;
  const metric = progress.validMetric.best === null ? '' : `  valid ${progress.validMetric.name} ${formatMetric(progress.validMetric.best)}`;
  return `${count}${metric}`;
}

/** One line per stage: done with its time, running with its elapsed time (and training progress), or not reached. */
export function stageLines(run: RunDetail, now: number): string[] {
  const timings = new Map((run.timings ?? []).map((timing) => [timing.stage, timing]));
  const lines: string[] = [];
  for (const stage of STAGES) {
    const timing = timings.get(stage);
    if (!timing) {
      if (stage === run.stage && run.status === 'running') lines.push(`  … ${stage}`);
      continue;
    }
    const finished = timing.finishedAt !== undefined;
    const elapsed = finished ? timing.durationMs : now - Date.parse(timing.startedAt);
    const mark = finished ? '✓' : run.status === 'running' || stage === 'awaiting_review' ? '▸' : '✗';
    const extra = !finished && stage === 'train' && run.progress ? `  ${progressText(run.progress)}` : partsText(timing);
    lines.push(`  ${mark} ${stage.padEnd(16)} ${formatDuration(elapsed).padStart(7)}${extra}`);
  }
  return lines;
}

/** `  (load 1.2s, split 0.3s, …)` for a stage that reports its parts, else nothing. */
export function partsText(timing: StageTiming): string {
  if (!timing.parts || timing.parts.length === 0) return '';
  return `  (${timing.parts.map((part) => `${part.part} ${formatDuration(part.durationMs)}`).join(', ')})`;
}

export function outcomeLine(run: RunDetail): string {
  switch (run.status) {
    case 'awaiting_review':
      return `run ${run.id} awaits review${run.modelVersion ? ` (version ${run.modelVersion})` : ''}: keel review ${run.id} approve|reject -m "…"`;
    case 'deployed':
      return `run ${run.id} deployed${run.modelVersion ? ` version ${run.modelVersion}` : ''} of ${run.model}`;
    default:
      return `run ${run.id} ${run.status}${run.reason ? `: ${run.reason}` : ''}`;
  }
}

/** Polls the run until it is settled, showing its stages as they go; returns the settled run. */
export async function watchRun(
  client: KeelApiClient,
  runId: string,
  output: Output,
  options: { quiet: boolean; intervalMs?: number },
): Promise<RunDetail> {
  const intervalMs = options.intervalMs ?? 500;
  let drawn = 0;
  const printed = new Set<string>();
  let lastProgress = '';
  let lastProgressAt = 0;
  for (;;) {
    const run = await client.get<RunDetail>(`/v1/runs/${encodeURIComponent(runId)}`);
    const now = Date.now();
    if (!options.quiet) {
      if (output.isTty) {
        const lines = [`run ${run.id} · ${run.model} · ${run.status}`, ...stageLines(run, now)];
        // Move up over the previous drawing and clear it, then draw again.
        output.out(`${drawn > 0 ? `\x1b[${drawn}F\x1b[0J` : ''}${lines.join('\n')}`);
        drawn = lines.length;
      } else {
        for (const timing of run.timings ?? []) {
          const started = `${timing.stage} started`;
          if (!printed.has(started)) {
            printed.add(started);
            if (timing.finishedAt === undefined) output.out(`${timing.stage} …`);
          }
          const done = `${timing.stage} done`;
          if (timing.finishedAt !== undefined && !printed.has(done)) {
            printed.add(done);
            output.out(`${timing.stage} ${formatDuration(timing.durationMs)}${partsText(timing)}`);
          }
        }
        if (run.progress && run.stage === 'train') {
          const text = `train ${progressText(run.progress)}`;
          // At most one progress line a second, and only when it changed.
          if (text !== lastProgress && now - lastProgressAt >= 1000) {
            output.out(text);
            lastProgress = text;
            lastProgressAt = now;
          }
        }
      }
    }
    if (isSettled(run)) {
      if (!options.quiet) output.out(outcomeLine(run));
      return run;
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
