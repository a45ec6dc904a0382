// The audit trail lives with the other repositories; routes import it from here for convenience.
export { writeAudit, type AuditEntry, type AuditWriter } from '../db/repositories/audit.js';
