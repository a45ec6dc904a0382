// Monitoring reports: one per model and window end (a retried monitoring activity finds its report).
import { and, desc, eq, gte, lte, type SQL } from 'drizzle-orm';
import { monitoringReports, type MonitoringReportRow } from '../schema.js';
import type { DbOrTx } from '../client.js';

export type NewMonitoringReport = Omit<typeof monitoringReports.$inferInsert, 'id' | 'createdAt'>;

/** Inserts the window's report, or returns the one an earlier attempt stored. */
export async function saveMonitoringReport(db: DbOrTx, input: NewMonitoringReport): Promise<MonitoringReportRow> {
  const [inserted] = await db
    .insert(monitoringReports)
    .values(input)
    .onConflictDoNothing({ target: [monitoringReports.modelId, monitoringReports.windowEnd] })
    .returning();
  if (inserted) return inserted;
  const [existing] = await db
    .select()
    .from(monitoringReports)
    .where(and(eq(monitoringReports.modelId, input.modelId), eq(monitoringReports.windowEnd, input.windowEnd)))
    .limit(1);
  return existing!;
}

export async function getMonitoringReport(db: DbOrTx, id: string): Promise<MonitoringReportRow | undefined> {
  const [row] = await db.select().from(monitoringReports).where(eq(monitoringReports.id, id)).limit(1);
  return row;
}

/** Records what the report's breach led to; a started retrain's run id also goes to its own column. */
export async function setMonitoringReportRetrain(db: DbOrTx, id: string, retrain: { action: string; runId?: string }): Promise<void> {
  await db
    .update(monitoringReports)
    .set({ retrain, retrainRunId: retrain.runId ?? null })
    .where(eq(monitoringReports.id, id));
}

export async function listMonitoringReports(
  db: DbOrTx,
  filter: { modelId: string; from?: Date; to?: Date; limit: number },
): Promise<MonitoringReportRow[]> {
  const conditions: SQL[] = [eq(monitoringReports.modelId, filter.modelId)];
  if (filter.from) conditions.push(gte(monitoringReports.windowEnd, filter.from));
  if (filter.to) conditions.push(lte(monitoringReports.windowEnd, filter.to));
  return db
    .select()
    .from(monitoringReports)
    .where(and(...conditions))
    .orderBy(desc(monitoringReports.windowEnd))
    .limit(filter.limit);
}

export async function latestMonitoringReport(db: DbOrTx, modelId: string): Promise<MonitoringReportRow | undefined> {
  const [row] = await db
    .select()
    .from(monitoringReports)
    .where(eq(monitoringReports.modelId, modelId))
    .orderBy(desc(monitoringReports.windowEnd))
    .limit(1);
  return row;
}
