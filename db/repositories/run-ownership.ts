// Rows that belong to a run reference `runs.id`. A pipeline started by hand in Temporal has no runs row, so its
// first such write violates the foreign key: that becomes one clear, non-retryable error instead of endless retries.
import { getTableConfig, type PgTable } from 'drizzle-orm/pg-core';
import { KeelError } from '../../errors/keel-error.js';
import { approvals, datasetSnapshots, deployments, evaluationReports, modelVersions, runs, validationReports } from '../schema.js';

const FOREIGN_KEY_VIOLATION = '23503';

/** Names of the foreign keys to `runs`, read from the schema so they follow drizzle-kit's naming. */
const RUN_FOREIGN_KEYS = new Set(
  [approvals, datasetSnapshots, deployments, evaluationReports, modelVersions, validationReports].flatMap((table: PgTable) =>
    getTableConfig(table)
      .foreignKeys.filter((key) => key.reference().foreignTable === runs)
      .map((key) => key.getName()),
  ),
);

/** The Postgres error in the chain drizzle wraps it in, if it is a violation of a foreign key to `runs`. */
function isRunForeignKeyViolation(error: unknown): boolean {
  let current = error;
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth++) {
    const { code, constraint, cause } = current as { code?: unknown; constraint?: unknown; cause?: unknown };
    if (code === FOREIGN_KEY_VIOLATION && typeof constraint === 'string' && RUN_FOREIGN_KEYS.has(constraint)) return true;
    current = cause;
  }
  return false;
}

export function runNotRegistered(runId: string, cause?: unknown): KeelError {
  return new KeelError(
    'RUN_NOT_REGISTERED',
    `run ${runId} has no runs row, so its records cannot be stored: start runs through the API (POST /v1/runs) or a Keel schedule, not by hand in Temporal`,
    { runId },
    { cause },
  );
}

/** Runs a write of rows owned by `runId`; a missing runs row becomes RUN_NOT_REGISTERED. */
export async function writeForRun<T>(runId: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (isRunForeignKeyViolation(error)) throw runNotRegistered(runId, error);
    throw error;
  }
}
