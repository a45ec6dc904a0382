// Records a workflow's history as a replay fixture in test/histories/ when KEEL_RECORD_HISTORIES=1.
// A committed history is never overwritten: it guards the code it was recorded from. A recording that went down
// other patched() branches than every history of its name so far is kept beside them under a new name
// (`<name>@<patch ids>.json`), so an intended change, behind patched(), adds a history and keeps the old ones.
import fs from 'node:fs/promises';
import path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import { historyFromJSON, historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { readSetting } from '../../config.js';

export const historiesDir = path.join(import.meta.dirname, '..', 'histories');

type History = temporal.api.history.v1.IHistory;

/** The patch ids a history recorded (its `patched()` calls that returned true), in order, without repeats. */
export function patchIdsOf(history: History): string[] {
  const ids: string[] = [];
  for (const event of history.events ?? []) {
    const marker = event.markerRecordedEventAttributes;
    if (marker?.markerName !== 'core_patch') continue;
    const data = marker.details?.['patch-data']?.payloads?.[0]?.data;
    const id = (JSON.parse(Buffer.from(data ?? new Uint8Array()).toString('utf8')) as { id: string }).id;
    if (!ids.includes(id)) ids.push(id);
  }
  return ids;
}

/** `<name>` for a history without patches, else `<name>@<patch ids without the workflow's prefix, joined by +>`. */
export function historyFileName(name: string, patchIds: string[]): string {
  if (patchIds.length === 0) return `${name}.json`;
  const short = [...patchIds].sort().map((id) => id.replace(/^(pipeline|monitor)-/, ''));
  return `${name}@${short.join('+')}.json`;
}

export interface KeepHistoryOptions {
  /** Default: KEEL_RECORD_HISTORIES. */
  record?: boolean;
  /** Default: test/histories. */
  dir?: string;
}

export type KeepHistoryOutcome = { written: string } | { kept: string } | { skipped: 'not recording' };

/** Writes the run's history unless one of the same name and patch ids is committed already; never overwrites. */
export async function keepHistory(
  name: string,
  handle: Pick<WorkflowHandle, 'fetchHistory'>,
  options: KeepHistoryOptions = {},
): Promise<KeepHistoryOutcome> {
  if (!(options.record ?? readSetting('recordHistories'))) return { skipped: 'not recording' };
  const dir = options.dir ?? historiesDir;
  await fs.mkdir(dir, { recursive: true });
  const history = await handle.fetchHistory();
  const patchIds = [...patchIdsOf(history)].sort();
  // Same name and same branches: the committed file already guards this code path (it may predate this naming).
  for (const file of await fs.readdir(dir)) {
    if (file !== `${name}.json` && !file.startsWith(`${name}@`)) continue;
    const committed = historyFromJSON(JSON.parse(await fs.readFile(path.join(dir, file), 'utf8')));
    if (JSON.stringify([...patchIdsOf(committed)].sort()) === JSON.stringify(patchIds)) {
      console.warn(`[histories] ${file} already guards this path; kept as committed`);
      return { kept: file };
    }
  }
  const file = historyFileName(name, patchIds);
  // 'wx': even a file that appeared meanwhile (a parallel recording) is never overwritten.
  await fs.writeFile(path.join(dir, file), historyToJSON(history), { flag: 'wx' });
  console.warn(`[histories] recorded ${file}`);
  return { written: file };
}
