// keel schedules ls|create|pause|unpause|trigger|rm.
import type { Command } from 'commander';
import type { ScheduleView } from '../../api/schedules/schedules-service.js';
import type { CliContext } from '../cli-context.js';
import { printJson, shortTime } from '../output.js';
import { readJsonFile } from './runs.js';

export function registerScheduleCommands(program: Command, ctx: CliContext): void {
  const schedules = program.command('schedules').description('nightly retrains as Temporal Schedules');

  schedules
    .command('ls')
    .description('list schedules')
    .action(async (_options: unknown, command: Command) => {
      const client = await ctx.client(command);
      const { schedules: rows } = await client.get<{ schedules: ScheduleView[] }>('/v1/schedules');
      ctx.printList(
        command,
        rows,
        ['id', 'model', 'cron', 'paused', 'next run', 'note'],
        (schedule) => [schedule.id, schedule.model, schedule.cron.join(' | '), schedule.paused, shortTime(schedule.nextRunAt[0]), schedule.note],
      );
    });

  schedules
    .command('create <id>')
    .description('create a schedule that starts the run spec on a cron (overlapping runs are skipped)')
    .requiredOption('--cron <expression>', 'e.g. "0 2 * * *" for 02:00 UTC nightly')
    .requiredOption('-f, --file <spec.json>', 'the run spec each scheduled run starts')
    .action(async (id: string, options: { cron: string; file: string }, command: Command) => {
      const client = await ctx.client(command);
      const run = await readJsonFile(options.file);
      const created = await client.post<ScheduleView>('/v1/schedules', { id, cron: options.cron, run });
      if (ctx.json(command)) return printJson(ctx.output, created);
      ctx.output.out(`created schedule ${id}`);
    });

  for (const [action, done, what] of [
    ['pause', 'paused', 'pause a schedule (ops)'],
    ['unpause', 'unpaused', 'resume a paused schedule (ops)'],
    ['trigger', 'triggered', 'start a run of the schedule now, requested by you (ops)'],
  ] as const) {
    schedules
      .command(`${action} <id>`)
      .description(what)
      .action(async (id: string, _options: unknown, command: Command) => {
        const client = await ctx.client(command);
        const schedule = await client.post<ScheduleView>(`/v1/schedules/${encodeURIComponent(id)}/${action}`);
        if (ctx.json(command)) return printJson(ctx.output, schedule);
        ctx.output.out(`${done} schedule ${id}`);
      });
  }

  schedules
    .command('rm <id>')
    .description('delete a schedule')
    .action(async (id: string, _options: unknown, command: Command) => {
      const client = await ctx.client(command);
      await client.request('DELETE', `/v1/schedules/${encodeURIComponent(id)}`);
      if (ctx.json(command)) return printJson(ctx.output, { id, deleted: true });
      ctx.output.out(`deleted schedule ${id}`);
    });
}
