// Validation reports: one per run, written by the validate activity.
import { eq } from 'drizzle-orm';
import type { DbOrTx } from '../client.js';
import { validationReports, type ValidationReportRow } from '../schema.js';

export async function getValidationReportByRunId(db: DbOrTx, runId: string): Promise<ValidationReportRow | undefined> {
  const [row] = await db.select().from(validationReports).where(eq(validationReports.runId, runId)).limit(1);
  return row;
}
