// keel models ls|show, keel rollback, keel predict.
import { createWriteStream } from 'node:fs';
import type { Writable } from 'node:stream';
import type { Command } from 'commander';
import { usageError } from '../cli-errors.js';
import type { CliContext } from '../cli-context.js';
import { formatMetric, formatTable, printJson, shortTime } from '../output.js';
import { csvLine, flatPrediction, readRowBatches, type ColumnType, type Prediction } from '../predict-rows.js';

interface ModelSummary {
  name: string;
  task: string;
  target: string;
  productionVersion: number | null;
  latestVersion: number | null;
  versionCount: number;
  createdAt: string;
}

interface VersionView {
  version: number;
  status: string;
  trainer: string;
  metrics: Record<string, unknown>;
  createdAt: string;
  input: { rawRows: boolean; sourceColumns: ColumnType[] } | null;
  lineage: { runId: string };
}

interface ModelDetail {
  name: string;
  task: string;
  target: string;
  featureSchema: unknown;
  aliases: { alias: string; version: number; updatedAt: string }[];
  versions: VersionView[];
  history: { alias: string; action: string; fromVersion: number | null; toVersion: number; actor: string; reason: string | null; at: string }[];
}

const PRIMARY_METRIC: Record<string, string> = { binary: 'auc', multiclass: 'logloss', regression: 'rmse' };

export function registerModelCommands(program: Command, ctx: CliContext): void {
  const models = program.command('models').description('list models and show one with its versions, aliases and history');

  models
    .command('ls')
    .description('list models')
    .action(async (_options: unknown, command: Command) => {
      const client = await ctx.client(command);
      const { models: rows } = await client.get<{ models: ModelSummary[] }>('/v1/models');
      ctx.printList(
        command,
        rows,
        ['name', 'task', 'target', 'production', 'latest', 'versions', 'created'],
        (model) => [model.name, model.task, model.target, model.productionVersion, model.latestVersion, model.versionCount, shortTime(model.createdAt)],
      );
    });

  models
    .command('show <name>')
    .description('a model: versions with their status and primary metric, aliases, production history')
    .action(async (name: string, _options: unknown, command: Command) => {
      const client = await ctx.client(command);
      const model = await client.get<ModelDetail>(`/v1/models/${encodeURIComponent(name)}`);
      if (ctx.json(command)) return printJson(ctx.output, model);
      const metric = PRIMARY_METRIC[model.task] ?? 'auc';
      const aliases = model.aliases.map((alias) => `${alias.alias} → v${alias.version}`).join(', ') || 'none';
      ctx.output.out(
        [
          `model ${model.name} (${model.task}, target ${model.target})`,
          `aliases  ${aliases}`,
          '',
          formatTable(
            ['version', 'status', 'trainer', metric, 'run', 'created'],
            model.versions.map((version) => [`v${version.version}`, version.status, version.trainer, formatMetric(version.metrics[metric]), version.lineage.runId, shortTime(version.createdAt)]),
          ),
          '',
          'history',
          formatTable(
            ['at', 'alias', 'action', 'from', 'to', 'by', 'reason'],
            model.history.map((entry) => [shortTime(entry.at), entry.alias, entry.action, entry.fromVersion, entry.toVersion, entry.actor, entry.reason]),
          ),
        ].join('\n'),
      );
    });

  program
    .command('rollback <model> <version>')
    .description('point production back to an earlier approved version (ops)')
    .requiredOption('-m, --message <reason>', 'why: recorded in the history and the audit trail')
    .option('--expected-production <version>', 'only if production is this version now (compare-and-set)')
    .action(async (model: string, version: string, options: { message: string; expectedProduction?: string }, command: Command) => {
      const target = positiveInteger(version, 'version');
      const client = await ctx.client(command);
      const body: Record<string, unknown> = { version: target, reason: options.message };
      if (options.expectedProduction !== undefined) body.expectedProduction = positiveInteger(options.expectedProduction, '--expected-production');
      const result = await client.post<{ model: string; version: number; previousVersion: number | null }>(
        `/v1/models/${encodeURIComponent(model)}/rollback`,
        body,
      );
      if (ctx.json(command)) return printJson(ctx.output, result);
      ctx.output.out(`production of ${result.model} is now v${result.version}${result.previousVersion ? ` (was v${result.previousVersion})` : ''}`);
    });

  program
    .command('predict <model>')
    .description("score rows from a CSV or JSON-lines file with the model's production version, in batches")
    .requiredOption('-f, --file <rows>', 'rows.csv (a header row; fields converted by the model\'s input types) or rows.jsonl')
    .option('--features', 'the rows are ready feature rows, not raw source rows')
    .option('--batch-size <n>', 'rows per request (at most 1000)', '500')
    .option('--format <format>', 'output: csv or jsonl (default: csv for a CSV input, jsonl otherwise; --json: jsonl)')
    .option('-o, --output <file>', 'write predictions to this file instead of stdout')
    .action(
      async (model: string, options: { file: string; features?: boolean; batchSize: string; format?: string; output?: string }, command: Command) => {
        const batchSize = positiveInteger(options.batchSize, '--batch-size');
        if (batchSize > 1000) throw usageError('--batch-size must be at most 1000');
        const format = options.format ?? (ctx.json(command) || !/\.(csv|tsv|txt)$/i.test(options.file) ? 'jsonl' : 'csv');
        if (format !== 'csv' && format !== 'jsonl') throw usageError(`--format must be csv or jsonl, got "${format}"`);
        const client = await ctx.client(command);
        // The input contract, readable with a predict-only key (the model's detail is not).
        const contract = await client.get<ModelInputContract>(`/v1/models/${encodeURIComponent(model)}/input`);
        const { mode, columns } = inputOf(contract, options.features === true);
        const sink: Writable | null = options.output ? createWriteStream(options.output) : null;
        const write = (line: string) => (sink ? sink.write(`${line}\n`) : ctx.output.out(line));
        let header: string[] | null = null;
        let rowIndex = 0;
        try {
          for await (const batch of readRowBatches(options.file, batchSize, columns)) {
            const body = mode === 'rows' ? { rows: batch } : { features: batch };
            const result = await client.post<{ version: number; predictions: Prediction[] }>(`/v1/models/${encodeURIComponent(model)}/predict`, body);
            for (const prediction of result.predictions) {
              const flat = flatPrediction(rowIndex++, result.version, prediction);
              if (format === 'jsonl') write(JSON.stringify(flat));
              else {
                if (header === null) {
                  header = Object.keys(flat);
                  write(csvLine(header));
                }
                write(csvLine(header.map((name) => flat[name])));
              }
            }
          }
        } finally {
          if (sink) await new Promise<void>((resolve) => sink.end(resolve));
        }
        if (options.output) ctx.output.err(`${rowIndex} predictions written to ${options.output}`);
      },
    );
}

/** What `GET /v1/models/:name/input` answers. */
interface ModelInputContract {
  version: number | null;
  input: { rawRows: boolean; sourceColumns: ColumnType[] } | null;
  features: { name: string; kind: string }[];
}

/** Raw source rows when the production version takes them (converted by its source column types), else features. */
function inputOf(contract: ModelInputContract, forceFeatures: boolean): { mode: 'rows' | 'features'; columns: ColumnType[] | null } {
  if (!forceFeatures && contract.input?.rawRows) return { mode: 'rows', columns: contract.input.sourceColumns };
  const features = contract.features.map((feature) => ({
    name: feature.name,
    type: feature.kind === 'numeric' ? 'DOUBLE' : 'VARCHAR',
  }));
  return { mode: 'features', columns: features.length > 0 ? features : null };
}

function positiveInteger(value: string, name: string): number {
  if (!/^[1-9][0-9]{0,8}$/.test(value)) throw usageError(`${name} must be a positive integer, got "${value}"`);
  return Number(value);
}
