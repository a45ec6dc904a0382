// The `keel` command line: commands, global flags, and the mapping of every failure to a documented exit code.
import { Command, CommanderError } from 'commander';
import { CliError, EXIT_CODES } from './cli-errors.js';
import { CliContext } from './cli-context.js';
import type { CliEnvironment } from './credentials.js';
import type { Output } from './output.js';
import { registerAuditCommand } from './commands/audit.js';
import { registerDatasetCommands } from './commands/datasets.js';
import { registerKeyCommands } from './commands/keys.js';
import { registerLoginCommands } from './commands/login.js';
import { registerModelCommands } from './commands/models.js';
import { registerRunCommands } from './commands/runs.js';
import { registerScheduleCommands } from './commands/schedules.js';

export interface CliIo {
  env: CliEnvironment;
  output: Output;
  readStdin(): Promise<string>;
}

const EXIT_CODE_HELP = `
Environment:
  KEEL_URL       the API (default http://localhost:3000)
  KEEL_API_KEY   the API key
  (both override what \`keel login\` stored in ~/.config/keel/credentials; --url and --key override both)

Exit codes:
  0  ok
  1  the API refused the request (4xx); its message is printed
  2  usage: unknown command or option, missing or unreadable file
  3  the server failed (5xx) or could not be reached
  4  runs start --wait / runs watch: the run failed, was rejected, expired, was cancelled …`;

export function buildProgram(ctx: CliContext, io: CliIo): Command {
  const program = new Command('keel')
    .description('Keel from the command line: runs, reviews, models, predictions, schedules, keys, audit, datasets')
    .option('--json', 'print JSON for scripts instead of tables')
    .option('--url <url>', 'the Keel API (default: KEEL_URL, the stored login, http://localhost:3000)')
    .option('--key <key>', 'the API key (default: KEEL_API_KEY, the stored login)')
    .addHelpText('after', EXIT_CODE_HELP)
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.output.out(text.replace(/\n$/, '')),
      writeErr: (text) => io.output.err(text.replace(/\n$/, '')),
    });
  registerLoginCommands(program, ctx, io.readStdin);
  registerRunCommands(program, ctx);
  registerModelCommands(program, ctx);
  registerScheduleCommands(program, ctx);
  registerKeyCommands(program, ctx);
  registerAuditCommand(program, ctx);
  registerDatasetCommands(program, ctx);
  // Subcommands inherit the exit override and output, so their usage errors become exit code 2 too.
  for (const command of allCommands(program)) {
    command.exitOverride().showHelpAfterError().configureOutput(program.configureOutput());
  }
  return program;
}

function allCommands(command: Command): Command[] {
  return command.commands.flatMap((child) => [child, ...allCommands(child)]);
}

/** Runs the CLI on `argv` (without `node keel`) and returns the exit code; never throws. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const ctx = new CliContext(io.env, io.output);
  const program = buildProgram(ctx, io);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return ctx.exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version are not failures; commander already printed the usage error.
      return error.exitCode === 0 ? EXIT_CODES.ok : EXIT_CODES.usage;
    }
    if (error instanceof CliError) {
      io.output.err(`keel: ${error.message}`);
      return error.exitCode;
    }
    // A bug in the CLI itself: say so in one line, still without a stack trace.
    io.output.err(`keel: unexpected error: ${(error as Error)?.message ?? String(error)}`);
    return EXIT_CODES.serverOrNetwork;
  }
}
