// The split a run uses: its spec's split (default hash) with the model's salt. An existing model's salt is on
// its `models` row; a model's first runs get one derived from the run id (so a retried activity returns the
// same), and the first registered version makes it the model's for good.
import { createHash } from 'node:crypto';
import type { Db } from '../db/client.js';
import { getModelByName } from '../db/repositories/models.js';
import type { ModelSplit, SplitSpec } from '../workflows/contracts/split.js';

export const DEFAULT_SPLIT_SPEC: SplitSpec = { kind: 'hash' };

export async function resolveModelSplit(db: Db, run: { model: string; runId: string; split?: SplitSpec }): Promise<ModelSplit> {
  const model = await getModelByName(db, run.model);
  const salt = model?.splitSalt ?? createHash('sha256').update(`keel-split-salt\0${run.model}\0${run.runId}`).digest('hex').slice(0, 32);
  return { spec: run.split ?? DEFAULT_SPLIT_SPEC, salt };
}
