// Validation reports, one per run.
import { eq } from 'drizzle-orm';
import type { DbOrTx } from '../client.js';
import { validationReports, type ValidationReportRow } from '../schema.js';
import { writeForRun } from './run-ownership.js';

export async function getValidationReportByRunId(db: DbOrTx, runId: string): Promise<ValidationReportRow | undefined> {
  const [row] = await db.select().from(validationReports).where(eq(validationReports.runId, runId)).limit(1);
  return row;
}

export interface NewValidationReport {
  runId: string;
  snapshotSha256: string;
  referenceSha256: string | null;
  passed: boolean;
  report: unknown;
  summary: string;
}

export interface StoredValidation {
  id: string;
  passed: boolean;
  summary: string;
  referenceSha256: string | null;
}

/** Saves the run's report; when a concurrent attempt of the same run wrote first, its report stands and is returned. */
export async function saveValidationReport(db: DbOrTx, report: NewValidationReport): Promise<StoredValidation | undefined> {
  const inserted = await writeForRun(report.runId, () =>
    db
      .insert(validationReports)
      .values(report)
      .onConflictDoNothing({ target: validationReports.runId })
      .returning({ id: validationReports.id }),
  );
  if (inserted.length) {
    return { id: inserted[0]!.id, passed: report.passed, summary: report.summary, referenceSha256: report.referenceSha256 };
  }
  const [stored] = await db
    .select({
      id: validationReports.id,
      passed: validationReports.passed,
      summary: validationReports.summary,
      referenceSha256: validationReports.referenceSha256,
    })
    .from(validationReports)
    .where(eq(validationReports.runId, report.runId));
  return stored;
}
