import os from 'node:os';
import type pg from 'pg';
import type { SystemCheckResult } from '../workflows/contracts/system-check.js';

export interface SystemActivityDeps {
  pool: pg.Pool;
  clock?: () => Date;
}

export function createSystemActivities({ pool, clock = () => new Date() }: SystemActivityDeps) {
  return {
    async checkDatabase(): Promise<SystemCheckResult> {
      const result = await pool.query<{ version: string }>('SELECT current_setting($$server_version$$) AS version');
      return {
        worker: `${os.hostname()}:${process.pid}`,
        postgresVersion: result.rows[0]!.version,
        checkedAt: clock().toISOString(),
      };
    },
  };
}

export type SystemActivities = ReturnType<typeof createSystemActivities>;
