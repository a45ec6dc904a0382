// Singleton facts about this installation, e.g. whether the admin key was bootstrapped.
import { eq, sql } from 'drizzle-orm';
import type { DbOrTx } from '../client.js';
import { installation } from '../schema.js';

/** Inserts the fact unless it exists; true when this caller created it (a concurrent claimer waits, then gets false). */
export async function claimInstallationFact(db: DbOrTx, key: string, value: unknown): Promise<boolean> {
  const claimed = await db.insert(installation).values({ key, value }).onConflictDoNothing().returning({ key: installation.key });
  return claimed.length > 0;
}

export async function setInstallationFact(db: DbOrTx, key: string, value: unknown): Promise<void> {
  await db.update(installation).set({ value, updatedAt: sql`now()` }).where(eq(installation.key, key));
}
