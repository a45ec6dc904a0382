// Records a workflow's history as a replay fixture in test/histories/ when KEEL_RECORD_HISTORIES=1.
import fs from 'node:fs/promises';
import path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { readSetting } from '../../config.js';

export const historiesDir = path.join(import.meta.dirname, '..', 'histories');

/** Writes `<name>.json` only when it does not exist yet: a committed history guards the code it was recorded from. */
export async function keepHistory(name: string, handle: Pick<WorkflowHandle, 'fetchHistory'>): Promise<void> {
  if (!readSetting('recordHistories')) return;
  await fs.mkdir(historiesDir, { recursive: true });
  const file = path.join(historiesDir, `${name}.json`);
  try {
    await fs.writeFile(file, historyToJSON(await handle.fetchHistory()), { flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    console.warn(`[histories] ${path.relative(process.cwd(), file)} exists; kept as committed (delete it to re-record)`);
  }
}
