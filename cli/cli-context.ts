// What every command gets: the output, the environment, an API client built from the global flags, and the
// exit code a command may set without failing (a run that ended rejected).
import type { Command } from 'commander';
import { KeelApiClient } from './api-client.js';
import { resolveCredentials, type CliEnvironment } from './credentials.js';
import { formatTable, printJson, type Cell, type Output } from './output.js';

export interface GlobalFlags {
  json?: boolean;
  url?: string;
  key?: string;
}

export class CliContext {
  exitCode = 0;

  constructor(
    readonly env: CliEnvironment,
    readonly output: Output,
  ) {}

  flags(command: Command): GlobalFlags {
    return command.optsWithGlobals<GlobalFlags>();
  }

  json(command: Command): boolean {
    return this.flags(command).json === true;
  }

  /** A list command's answer: the rows as one JSON document under --json, else a table of `cells(row)` under `headers`. */
  printList<T>(command: Command, rows: T[], headers: string[], cells: (row: T) => Cell[]): void {
    if (this.json(command)) return printJson(this.output, rows);
    this.output.out(formatTable(headers, rows.map(cells)));
  }

  async client(command: Command): Promise<KeelApiClient> {
    const flags = this.flags(command);
    const { url, key } = await resolveCredentials(this.env, flags);
    return new KeelApiClient(url, key);
  }
}
