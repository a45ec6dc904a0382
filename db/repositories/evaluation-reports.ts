// Evaluation reports: one per run, written by the evaluate activity and shown to reviewers.
import { eq, inArray } from 'drizzle-orm';
import { evaluationReports, type EvaluationReportRow } from '../schema.js';
import type { DbOrTx } from '../client.js';
import { writeForRun } from './run-ownership.js';

export interface NewEvaluationReport {
  /** Chosen by the caller when the id must appear inside the report itself. */
  id?: string;
  runId: string;
  model: string;
  candidateSha256: string;
  championVersion: number | null;
  gatesPassed: boolean;
  report: unknown;
}

/** Stores the run's report; a retry gets the report already stored (`created: false`). */
export async function saveEvaluationReport(
  db: DbOrTx,
  input: NewEvaluationReport,
): Promise<{ report: EvaluationReportRow; created: boolean }> {
  const inserted = await writeForRun(input.runId, () =>
    db.insert(evaluationReports).values(input).onConflictDoNothing({ target: evaluationReports.runId }).returning(),
  );
  if (inserted[0]) return { report: inserted[0], created: true };
  const existing = await getEvaluationReportByRunId(db, input.runId);
  if (!existing) throw new Error(`evaluation report of run ${input.runId} conflicted but cannot be read`);
  return { report: existing, created: false };
}

export async function getEvaluationReportByRunId(db: DbOrTx, runId: string): Promise<EvaluationReportRow | undefined> {
  const [row] = await db.select().from(evaluationReports).where(eq(evaluationReports.runId, runId)).limit(1);
  return row;
}

export async function getEvaluationReport(db: DbOrTx, id: string): Promise<EvaluationReportRow | undefined> {
  const [row] = await db.select().from(evaluationReports).where(eq(evaluationReports.id, id)).limit(1);
  return row;
}

export async function listEvaluationReportsByIds(db: DbOrTx, ids: readonly string[]): Promise<EvaluationReportRow[]> {
  if (ids.length === 0) return [];
  return db.select().from(evaluationReports).where(inArray(evaluationReports.id, [...ids]));
}
