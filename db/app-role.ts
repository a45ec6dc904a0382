// The role the API and workers connect as: all tables but audit_log read-write, audit_log INSERT and SELECT only
// (granted by the audit-trail migration). The owner sets its password from the app's own DATABASE_URL.
import type pg from 'pg';

export const APP_ROLE = 'keel_app';

/** When `appDatabaseUrl` logs in as the app role with a password, give the role that password (as the owner). */
export async function setAppRolePassword(ownerClient: pg.Client, appDatabaseUrl: string): Promise<void> {
  const url = new URL(appDatabaseUrl);
  if (decodeURIComponent(url.username) !== APP_ROLE || url.password === '') return;
  const password = decodeURIComponent(url.password);
  // DDL takes no bind parameters; escapeLiteral quotes it safely.
  await ownerClient.query(`ALTER ROLE ${APP_ROLE} PASSWORD ${ownerClient.escapeLiteral(password)}`);
}
