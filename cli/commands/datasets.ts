// keel datasets upload|ls: a local file into the server's data root, for a run spec's dataset.uri.
import { openAsBlob } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import type { DatasetUploadView } from '../../api/datasets/dataset-upload-service.js';
import { queryString } from '../api-client.js';
import { usageError } from '../cli-errors.js';
import type { CliContext } from '../cli-context.js';
import { printJson, shortTime } from '../output.js';

export function registerDatasetCommands(program: Command, ctx: CliContext): void {
  const datasets = program.command('datasets').description('upload datasets (CSV, Parquet, JSON lines) and list uploads');

  datasets
    .command('upload <file>')
    .description('upload a file; prints the uri to name as dataset.uri in a run spec')
    .action(async (file: string, _options: unknown, command: Command) => {
      const info = await stat(file).catch(() => null);
      if (!info?.isFile()) throw usageError(`cannot read ${file}`);
      const client = await ctx.client(command);
      const form = new FormData();
      // Streamed from disk, not read into memory.
      form.append('file', await openAsBlob(file), path.basename(file));
      const upload = await client.request<DatasetUploadView>('POST', '/v1/datasets', { form });
      if (ctx.json(command)) return printJson(ctx.output, upload);
      ctx.output.out(
        [
          `uploaded ${upload.fileName}: ${upload.rows} rows, ${upload.columns.length} columns, ${upload.bytes} bytes`,
          `  sha256  ${upload.sha256}`,
          `  uri     ${upload.uri}`,
          `  columns ${upload.columns.map((column) => `${column.name} ${column.type}`).join(', ')}`,
        ].join('\n'),
      );
    });

  datasets
    .command('ls')
    .description('uploaded datasets, newest first')
    .option('--limit <n>', 'at most this many', '100')
    .action(async (options: { limit: string }, command: Command) => {
      const client = await ctx.client(command);
      const { datasets: rows } = await client.get<{ datasets: DatasetUploadView[] }>(`/v1/datasets${queryString({ limit: options.limit })}`);
      ctx.printList(
        command,
        rows,
        ['file', 'rows', 'bytes', 'sha256', 'uri', 'by', 'uploaded'],
        (row) => [row.fileName, row.rows, row.bytes, row.sha256.slice(0, 12), row.uri, row.uploadedBy, shortTime(row.createdAt)],
      );
    });
}
