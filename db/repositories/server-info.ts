// What the database server says about itself, for the system check.
import type pg from 'pg';

export async function getPostgresVersion(pool: pg.Pool): Promise<string> {
  const result = await pool.query<{ version: string }>('SELECT current_setting($$server_version$$) AS version');
  return result.rows[0]!.version;
}
