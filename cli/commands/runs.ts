// keel runs start|ls|show|watch|cancel, and keel review.
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { queryString } from '../api-client.js';
import { EXIT_CODES, usageError } from '../cli-errors.js';
import type { CliContext } from '../cli-context.js';
import { formatMetric, formatTable, printJson, shortTime } from '../output.js';
import { outcomeLine, progressText, stageLines, succeeded, watchRun, type RunDetail } from '../run-progress.js';

interface RunSummary {
  id: string;
  model: string;
  status: string;
  stage: string;
  reason: string | null;
  requestedBy: string | null;
  modelVersion: number | null;
  createdAt: string;
  finishedAt: string | null;
}

export async function readJsonFile(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw usageError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw usageError(`${file} is not valid JSON: ${(error as Error).message}`);
  }
}

export function registerRunCommands(program: Command, ctx: CliContext): void {
  const runs = program.command('runs').description('start, list, show, watch and cancel pipeline runs');

  runs
    .command('start')
    .description('start a run from a run spec (JSON); --wait shows its stages live until it awaits review or ends')
    .requiredOption('-f, --file <spec.json>', 'the run spec')
    .option('--wait', 'follow the run until it awaits review or ends (exit 4 if it fails, is rejected, …)')
    .option('--idempotency-key <key>', 'the same key and spec return the same run')
    .action(async (options: { file: string; wait?: boolean; idempotencyKey?: string }, command: Command) => {
      const client = await ctx.client(command);
      const spec = await readJsonFile(options.file);
      const headers = options.idempotencyKey ? { 'idempotency-key': options.idempotencyKey } : undefined;
      const started = await client.post<{ id: string; model: string; status: string; workflowId: string }>('/v1/runs', spec, headers);
      const json = ctx.json(command);
      if (!options.wait) {
        if (json) printJson(ctx.output, started);
        else ctx.output.out(`started run ${started.id} (${started.model}); follow it: keel runs watch ${started.id}`);
        return;
      }
      if (!json) ctx.output.out(`started run ${started.id} (${started.model})`);
      await finishWatching(ctx, command, started.id);
    });

  runs
    .command('watch <run>')
    .description('follow a run until it awaits review or ends (exit 4 if it fails, is rejected, …)')
    .action(async (runId: string, _options: unknown, command: Command) => {
      await finishWatching(ctx, command, runId);
    });

  runs
    .command('ls')
    .description('list runs, newest first')
    .option('--model <name>', 'only this model')
    .option('--status <status>', 'only this status (running, awaiting_review, deployed, …)')
    .option('--limit <n>', 'at most this many', '50')
    .action(async (options: { model?: string; status?: string; limit: string }, command: Command) => {
      const client = await ctx.client(command);
      const { runs: rows } = await client.get<{ runs: RunSummary[] }>(
        `/v1/runs${queryString({ model: options.model, status: options.status, limit: options.limit })}`,
      );
      ctx.printList(
        command,
        rows,
        ['id', 'model', 'status', 'stage', 'version', 'requested by', 'created'],
        (run) => [run.id, run.model, run.status, run.stage, run.modelVersion, run.requestedBy, shortTime(run.createdAt)],
      );
    });

  runs
    .command('show <run>')
    .description('a run: stages and timings, training progress, gates, review')
    .action(async (runId: string, _options: unknown, command: Command) => {
      const client = await ctx.client(command);
      const run = await client.get<RunDetail>(`/v1/runs/${encodeURIComponent(runId)}`);
      if (ctx.json(command)) return printJson(ctx.output, run);
      ctx.output.out(describeRun(run));
    });

  runs
    .command('cancel <run>')
    .description('cancel a run; a running activity stops at its next heartbeat')
    .action(async (runId: string, _options: unknown, command: Command) => {
      const client = await ctx.client(command);
      const result = await client.post<{ id: string; cancelRequested: boolean }>(`/v1/runs/${encodeURIComponent(runId)}/cancel`);
      if (ctx.json(command)) return printJson(ctx.output, result);
      ctx.output.out(`cancel requested for run ${result.id}`);
    });

  program
    .command('review <run> <decision>')
    .description('approve or reject a run awaiting review (decision: approve | reject)')
    .requiredOption('-m, --message <comment>', 'why: recorded with the review and in the audit trail')
    .action(async (runId: string, decision: string, options: { message: string }, command: Command) => {
      if (decision !== 'approve' && decision !== 'reject') throw usageError(`decision must be approve or reject, got "${decision}"`);
      const client = await ctx.client(command);
      const result = await client.post<{ id: string; decision: string; reviewer: string; decidedAt: string }>(
        `/v1/runs/${encodeURIComponent(runId)}/review`,
        { decision, comment: options.message },
      );
      if (ctx.json(command)) return printJson(ctx.output, result);
      ctx.output.out(`${result.decision === 'approve' ? 'approved' : 'rejected'} run ${result.id} as ${result.reviewer}`);
    });
}

async function finishWatching(ctx: CliContext, command: Command, runId: string): Promise<void> {
  const client = await ctx.client(command);
  const json = ctx.json(command);
  const run = await watchRun(client, runId, ctx.output, { quiet: json });
  if (json) printJson(ctx.output, run);
  if (!succeeded(run)) ctx.exitCode = EXIT_CODES.runDidNotSucceed;
}

function describeRun(run: RunDetail): string {
  const lines = [`run ${run.id}`, `  model    ${run.model}`, `  status   ${run.status}`, `  stage    ${run.stage}`];
  if (run.reason) lines.push(`  reason   ${run.reason}`);
  if (run.modelVersion) lines.push(`  version  ${run.modelVersion}`);
  if (run.progress) lines.push(`  training ${progressText(run.progress)}`);
  const stages = stageLines(run, Date.now());
  if (stages.length > 0) lines.push('stages', ...stages);
  const evaluation = run.evaluation as {
    gatesPassed?: boolean;
    report?: { failedGates?: string[]; candidate?: { metrics?: Record<string, number> }; champion?: { version: number; metrics: Record<string, number> } | null };
  } | null;
  if (evaluation?.report) {
    const { candidate, champion, failedGates } = evaluation.report;
    const metrics = Object.entries(candidate?.metrics ?? {});
    if (metrics.length > 0) {
      lines.push(
        'metrics (holdout)',
        ...formatTable(
          ['metric', 'candidate', champion ? `champion v${champion.version}` : 'champion'],
          metrics.map(([name, value]) => [name, formatMetric(value), champion ? formatMetric(champion.metrics[name]) : null]),
        )
          .split('\n')
          .map((line) => `  ${line}`),
      );
    }
    lines.push(`gates    ${evaluation.gatesPassed ? 'passed' : `failed: ${(failedGates ?? []).join(', ')}`}`);
  }
  const review = run.review as { decision: string; reviewer: string; comment?: string; decidedAt: string } | null;
  if (review) lines.push(`review   ${review.decision} by ${review.reviewer} at ${shortTime(review.decidedAt)}${review.comment ? `: ${review.comment}` : ''}`);
  lines.push(outcomeLine(run));
  return lines.join('\n');
}

