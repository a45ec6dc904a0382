// keel keys ls|create|revoke (admin).
import type { Command } from 'commander';
import { usageError } from '../cli-errors.js';
import type { CliContext } from '../cli-context.js';
import { printJson, shortTime } from '../output.js';

interface KeyView {
  id: string;
  name: string;
  user: string;
  prefix: string;
  roles: string[];
  createdAt: string;
  revokedAt: string | null;
  lastUsedAt: string | null;
}

const ROLES = ['engineer', 'reviewer', 'ops', 'predict', 'admin'];

export function registerKeyCommands(program: Command, ctx: CliContext): void {
  const keys = program.command('keys').description('API keys (admin)');

  keys
    .command('ls')
    .description('list API keys (never their secrets)')
    .option('--all', 'include revoked keys')
    .action(async (options: { all?: boolean }, command: Command) => {
      const client = await ctx.client(command);
      const { keys: rows } = await client.get<{ keys: KeyView[] }>(`/v1/keys${options.all ? '?includeRevoked=true' : ''}`);
      ctx.printList(
        command,
        rows,
        ['id', 'name', 'user', 'prefix', 'roles', 'created', 'last used', 'revoked'],
        (key) => [key.id, key.name, key.user, key.prefix, key.roles.join(','), shortTime(key.createdAt), shortTime(key.lastUsedAt), shortTime(key.revokedAt)],
      );
    });

  keys
    .command('create <name>')
    .description('create a key; its secret is printed once')
    .requiredOption('--roles <roles>', `comma-separated: ${ROLES.join(', ')}`)
    .option('--user <user>', 'the person or service it belongs to (four eyes compares users); default: the key name')
    .action(async (name: string, options: { roles: string; user?: string }, command: Command) => {
      const roles = options.roles.split(',').map((role) => role.trim()).filter((role) => role !== '');
      const unknown = roles.filter((role) => !ROLES.includes(role));
      if (roles.length === 0 || unknown.length > 0) throw usageError(`--roles must name roles among ${ROLES.join(', ')}${unknown.length ? `; unknown: ${unknown.join(', ')}` : ''}`);
      const client = await ctx.client(command);
      const created = await client.post<KeyView & { secret: string }>('/v1/keys', { name, roles, ...(options.user ? { user: options.user } : {}) });
      if (ctx.json(command)) return printJson(ctx.output, created);
      ctx.output.out(`created key ${created.id} for ${created.user} (${created.roles.join(', ')})`);
      ctx.output.out(`secret (shown once, store it now): ${created.secret}`);
    });

  keys
    .command('revoke <id>')
    .description('revoke a key')
    .action(async (id: string, _options: unknown, command: Command) => {
      const client = await ctx.client(command);
      const result = await client.request<unknown>('DELETE', `/v1/keys/${encodeURIComponent(id)}`);
      if (ctx.json(command)) return printJson(ctx.output, result ?? { id, revoked: true });
      ctx.output.out(`revoked key ${id}`);
    });
}
