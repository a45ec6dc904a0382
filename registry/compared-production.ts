// Which production version a candidate was judged against: its deploy is a compare-and-set on that version, so a
// late approval never replaces a newer production model nobody compared it with.
import type { DbOrTx } from '../db/client.js';
import { getEvaluationReport } from '../db/repositories/evaluation-reports.js';
import { getAliasVersionAt, PRODUCTION_ALIAS } from '../db/repositories/model-aliases.js';
import type { ModelVersionRow } from '../db/schema.js';

/**
 * The champion the evaluation scored; when it scored none (no production yet, or one it could not score), production
 * as the alias history has it when the report was stored (or, without a report, when the version was registered).
 */
export async function comparedProductionVersion(db: DbOrTx, modelId: string, row: ModelVersionRow): Promise<number | null> {
  const report = row.evaluationReportId ? await getEvaluationReport(db, row.evaluationReportId) : undefined;
  const champion = report?.championVersion ?? row.parentVersion;
  if (champion !== null) return champion;
  return getAliasVersionAt(db, modelId, PRODUCTION_ALIAS, report?.createdAt ?? row.createdAt);
}
