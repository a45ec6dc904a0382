import os from 'node:os';
import type pg from 'pg';
import { getPostgresVersion } from '../db/repositories/server-info.js';
import type { SystemCheckResult } from '../workflows/contracts/system-check.js';

export interface SystemActivityDeps {
  pool: pg.Pool;
  clock?: () => Date;
}

export function createSystemActivities({ pool, clock = () => new Date() }: SystemActivityDeps) {
  return {
    async checkDatabase(): Promise<SystemCheckResult> {
      return {
        worker: `${os.hostname()}:${process.pid}`,
        postgresVersion: await getPostgresVersion(pool),
        checkedAt: clock().toISOString(),
      };
    },
  };
}

export type SystemActivities = ReturnType<typeof createSystemActivities>;
