// How a run's rows are assigned to train / valid / holdout (the run spec's `split`), and what a model version
// stores about the split it was trained with, so a later evaluation knows which rows its champion trained on.
import { Type, type Static } from '@sinclair/typebox';

const ColumnName = Type.String({ minLength: 1, maxLength: 200 });

const HashSplit = Type.Object(
  {
    kind: Type.Literal('hash'),
    /** A column that identifies a row (an id); default: a hash of the row's target and feature values. */
    key: Type.Optional(ColumnName),
  },
  { additionalProperties: false },
);
const TimeSplit = Type.Object(
  {
    kind: Type.Literal('time'),
    /** A date, timestamp or numeric (e.g. epoch seconds) column: the newest rows are the holdout. */
    column: ColumnName,
    /** Rows at or after this are the holdout (an ISO date/time, or a number for numeric columns); default: the newest 20%. */
    holdoutFrom: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 64 }), Type.Number()])),
  },
  { additionalProperties: false },
);
const GroupSplit = Type.Object(
  {
    kind: Type.Literal('group'),
    /** Rows sharing a value of this column (a customer, a patient) always land in the same part. */
    column: ColumnName,
  },
  { additionalProperties: false },
);

/** Default `{ kind: 'hash' }`: rows are assigned by a salted hash of their content, stable across runs. */
export const SplitSpecSchema = Type.Union([HashSplit, TimeSplit, GroupSplit], {
  description: "`{ kind: 'hash', key? }` (default), `{ kind: 'time', column, holdoutFrom? }` or `{ kind: 'group', column }`",
});
export type SplitSpec = Static<typeof SplitSpecSchema>;

/** The run's split plus the model's salt: what training and evaluation assign rows with. */
export interface ModelSplit {
  spec: SplitSpec;
  /** Fixed per model (stored on its `models` row), so every run of the model splits rows the same way. */
  salt: string;
}

export interface SplitFractionsRecord {
  valid: number;
  holdout: number;
}

/**
 * The split a version was trained with, fully resolved (stored in the version's params as `split`): applying it
 * to any snapshot says which rows that version trained on. Time boundaries are in the column's numeric scale
 * (epoch seconds for dates and timestamps, the value itself for numbers).
 */
export type ResolvedSplit =
  | { kind: 'hash'; salt: string; key: string; fractions: SplitFractionsRecord }
  | { kind: 'hash'; salt: string; content: string[]; fractions: SplitFractionsRecord }
  | { kind: 'group'; salt: string; column: string; fractions: SplitFractionsRecord }
  | { kind: 'time'; column: string; validFrom: number; holdoutFrom: number; fractions: SplitFractionsRecord }
  /** Runs started before stable splits: `hash(seed, row index)`, which says nothing about rows of another snapshot. */
  | { kind: 'row-index'; seed: number; fractions: SplitFractionsRecord };

/** Champion vs challenger: whether the champion's numbers on this holdout can be trusted. */
export interface ChampionComparison {
  /** `fair`: the champion trained on none of the holdout rows; `biased`: on some, or which is unknown. */
  status: 'fair' | 'biased' | 'no_champion';
  /** Holdout rows the champion's own split put in its train or valid part; null when that cannot be known. */
  championTrainedHoldoutRows: number | null;
  holdoutRows: number;
  /** Why the comparison is biased, for the reviewer; null when fair. */
  reason: string | null;
  split: ResolvedSplit;
  championSplit: ResolvedSplit | null;
}
