// Prints the route × role matrix as README's table: `node --import tsx api/route-role-matrix-table.ts`.
// Builds the app without connecting to anything (routes only register), so it needs no database or Temporal.
import { loadConfig } from '../config.js';
import type { Db } from '../db/client.js';
import { isMain } from '../is-main.js';
import { buildApp } from './app.js';
import { routeRoleMatrixMarkdown } from './route-role-matrix.js';

/** The table as README shows it, from the app buildApp makes. */
export async function currentRouteRoleMatrixMarkdown(): Promise<string> {
  // A placeholder signing key: nothing is signed, and an unset one would be generated into the data dir.
  const config = loadConfig({ KEEL_SIGNING_KEY: 'route-role-matrix-table-placeholder-key' });
  const app = await buildApp({ config, db: undefined as unknown as Db, pool: undefined as never, logger: false });
  try {
    await app.ready();
    return routeRoleMatrixMarkdown(app.routeRoleMatrix);
  } finally {
    await app.close();
  }
}

if (isMain(import.meta.url)) {
  console.log(await currentRouteRoleMatrixMarkdown());
}
