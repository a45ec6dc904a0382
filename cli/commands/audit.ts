// keel audit: the audit trail, newest first (ops).
import type { Command } from 'commander';
import { queryString } from '../api-client.js';
import type { CliContext } from '../cli-context.js';
import { formatTable, printJson, shortTime } from '../output.js';

interface AuditEntry {
  id: number;
  at: string;
  actor: string;
  role: string | null;
  action: string;
  target: string;
  details: unknown;
}

export function registerAuditCommand(program: Command, ctx: CliContext): void {
  program
    .command('audit')
    .description('the audit trail, newest first (ops)')
    .option('--target <target>', 'e.g. run:abc, model:churn, or a prefix ending in * (model:*)')
    .option('--actor <user>', 'only this user')
    .option('--action <action>', 'e.g. run.review, model.rollback')
    .option('--from <time>', 'ISO 8601 with a zone')
    .option('--to <time>', 'ISO 8601 with a zone')
    .option('--limit <n>', 'at most this many (≤ 500)', '50')
    .option('--cursor <cursor>', 'the nextCursor of an earlier page')
    .action(async (options: Record<string, string | undefined>, command: Command) => {
      const client = await ctx.client(command);
      const page = await client.get<{ entries: AuditEntry[]; nextCursor: string | null }>(
        `/v1/audit${queryString({ target: options.target, actor: options.actor, action: options.action, from: options.from, to: options.to, limit: options.limit, cursor: options.cursor })}`,
      );
      if (ctx.json(command)) return printJson(ctx.output, page);
      ctx.output.out(
        formatTable(
          ['id', 'at', 'actor', 'role', 'action', 'target'],
          page.entries.map((entry) => [entry.id, shortTime(entry.at), entry.actor, entry.role, entry.action, entry.target]),
        ),
      );
      if (page.nextCursor) ctx.output.out(`more: keel audit --cursor ${page.nextCursor}`);
    });
}
