// keel login|logout: keep the API URL and key in ~/.config/keel/credentials (mode 0600).
import type { Command } from 'commander';
import { KeelApiClient } from '../api-client.js';
import { usageError } from '../cli-errors.js';
import type { CliContext } from '../cli-context.js';
import { removeCredentials, resolveCredentials, storeCredentials } from '../credentials.js';
import { printJson } from '../output.js';

export function registerLoginCommands(program: Command, ctx: CliContext, readStdin: () => Promise<string>): void {
  program
    .command('login')
    .description('check an API key against the API and store it with the URL (the key is read from --key, or stdin)')
    .action(async (_options: unknown, command: Command) => {
      const flags = ctx.flags(command);
      const { url } = await resolveCredentials(ctx.env, { url: flags.url });
      const key = flags.key ?? (await readStdin()).trim();
      if (!key) throw usageError('no API key given: pass --key, or pipe it in (echo "$KEY" | keel login)');
      // A key that the API does not know is refused here (401), before anything is stored.
      await new KeelApiClient(url, key).get('/v1/models');
      const file = await storeCredentials(ctx.env, { url, key });
      if (ctx.json(command)) return printJson(ctx.output, { url, credentials: file });
      ctx.output.out(`logged in to ${url}; key stored in ${file} (mode 0600)`);
    });

  program
    .command('logout')
    .description('forget the stored URL and key')
    .action(async (_options: unknown, command: Command) => {
      const removed = await removeCredentials(ctx.env);
      if (ctx.json(command)) return printJson(ctx.output, { removed });
      ctx.output.out(removed ? 'stored credentials removed' : 'no stored credentials');
    });
}
