import { proxyActivities } from '@temporalio/workflow';
import type { SystemActivities } from '../activities/system-activities.js';
import type { SystemCheckResult } from './contracts/system-check.js';

const { checkDatabase } = proxyActivities<SystemActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { maximumAttempts: 3 },
});

/** Proves the whole path works: server → pipeline worker → activity → Postgres. */
export async function systemCheck(): Promise<SystemCheckResult> {
  return checkDatabase();
}
