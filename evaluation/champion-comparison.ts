// Is the champion's score on this holdout fair? Its own stored split, applied to this snapshot, says which of
// the holdout rows it trained on; any (or not knowing) makes the comparison biased toward the champion.
import { applySplit } from '../data/split-assignment.js';
import { DEFAULT_SPLIT, splitRows } from '../ml/split.js';
import type { ChampionComparison, ResolvedSplit } from '../workflows/contracts/split.js';

const SPLIT_KINDS = new Set(['hash', 'group', 'time', 'row-index']);

function asResolvedSplit(value: unknown): ResolvedSplit | null {
  if (typeof value !== 'object' || value === null) return null;
  return SPLIT_KINDS.has((value as { kind?: unknown }).kind as string) ? (value as ResolvedSplit) : null;
}

/** The stored split; versions from before stable splits have only the GBDT's seed, which was the split's seed too. */
function championSplitOf(champion: ChampionTraining): ResolvedSplit | null {
  const stored = asResolvedSplit(champion.split);
  if (stored !== null) return stored;
  return typeof champion.seed === 'number' ? { kind: 'row-index', seed: champion.seed, fractions: DEFAULT_SPLIT } : null;
}

/** One line a reviewer can read. */
export function describeSplit(split: ResolvedSplit): string {
  switch (split.kind) {
    case 'hash':
      return 'key' in split
        ? `hash of key "${split.key}" (salt ${split.salt.slice(0, 8)}…)`
        : `hash of the row's ${split.content.map((c) => `"${c}"`).join(', ')} (salt ${split.salt.slice(0, 8)}…)`;
    case 'group':
      return `groups of "${split.column}" (salt ${split.salt.slice(0, 8)}…)`;
    case 'time':
      return `time on "${split.column}", holdout from ${split.holdoutFrom}`;
    case 'row-index':
      return `row index with seed ${split.seed} (before stable splits)`;
  }
}

/** What the champion's registry row says about its training: params' `split` and `seed`, and its snapshot. */
export interface ChampionTraining {
  version: number;
  split: unknown;
  seed: unknown;
  snapshotSha256: string;
}

export interface ChampionSplitInput {
  snapshotPath: string;
  snapshotSha256: string;
  rowCount: number;
  /** This run's split and its holdout (row indices in the snapshot). */
  split: ResolvedSplit;
  holdout: Uint32Array;
  /** The scored champion, or null without one. */
  champion: ChampionTraining | null;
}

export async function compareWithChampion(input: ChampionSplitInput): Promise<ChampionComparison> {
  const { split, holdout } = input;
  const base = { holdoutRows: holdout.length, split };
  if (input.champion === null) {
    return { ...base, status: 'no_champion', championTrainedHoldoutRows: null, reason: null, championSplit: null };
  }
  const { version } = input.champion;
  const championSplit = championSplitOf(input.champion);
  const unknown = (reason: string): ChampionComparison => ({ ...base, status: 'biased', championTrainedHoldoutRows: null, reason, championSplit });
  let isChampionHoldout: (row: number) => boolean;
  if (championSplit === null || championSplit.kind === 'row-index') {
    // A row index means something only in the snapshot it indexes.
    if (championSplit === null || input.champion.snapshotSha256 !== input.snapshotSha256) {
      return unknown(
        `champion v${version} was trained before stable splits (rows split by row index in another snapshot), so which of these holdout rows it trained on is unknown`,
      );
    }
    const championHoldout = new Set(splitRows(input.rowCount, championSplit.seed, championSplit.fractions).holdout);
    isChampionHoldout = (row) => championHoldout.has(row);
  } else {
    let codes: Uint8Array;
    try {
      codes = (await applySplit(input.snapshotPath, championSplit)).codes;
    } catch (error) {
      return unknown(`champion v${version}'s split (${describeSplit(championSplit)}) cannot be applied to this snapshot: ${(error as Error).message}`);
    }
    isChampionHoldout = (row) => codes[row] === 2;
  }
  let trained = 0;
  for (const row of holdout) if (!isChampionHoldout(row)) trained += 1;
  if (trained === 0) return { ...base, status: 'fair', championTrainedHoldoutRows: 0, reason: null, championSplit };
  return {
    ...base,
    status: 'biased',
    championTrainedHoldoutRows: trained,
    reason:
      `champion v${version} trained on ${trained} of the ${holdout.length} holdout rows: its split (${describeSplit(championSplit)}) ` +
      `differs from this run's (${describeSplit(split)}), so its metrics here are inflated`,
    championSplit,
  };
}
