// The system check's result: which worker answered and which Postgres it reached.
export interface SystemCheckResult {
  worker: string;
  postgresVersion: string;
  checkedAt: string;
}
