// Raw source rows → the model's feature rows through the version's serving recipe, in a DuckDB opened on first
// use and kept for the loaded version's lifetime (one per version, the transform prepared once).
import { openRowTransformSession, type RowTransformSession, type SourceValue } from '../data/row-transform-session.js';
import type { RawRow } from '../ml/model.js';
import { PredictionInputError, RawRowsNotServableError } from './errors.js';
import { validateSourceRows } from './raw-row-validation.js';
import { rawRowsRefusal, type ServingRecipe } from '../workflows/contracts/serving-recipe.js';
import { firstLine } from '../data/errors.js';

export interface RawRowFeatures {
  /** The feature rows of `rows`, one per row; 400-type errors name the row and field. */
  featureRows(rows: readonly unknown[]): Promise<RawRow[]>;
  close(): void;
}

/** The error for the first row the transform fails on alone (the whole batch's error if none does). */
async function failingRow(transform: RowTransformSession, values: readonly SourceValue[][], batchError: unknown): Promise<PredictionInputError> {
  if (values.length > 1) {
    for (let rowIndex = 0; rowIndex < values.length; rowIndex++) {
      const failed = await transform.transformRows([values[rowIndex]!]).then(
        () => undefined,
        (error: unknown) => error,
      );
      if (failed !== undefined) return new PredictionInputError(rowIndex, '', `the model's feature SQL failed on this row: ${firstLine(failed)}`);
    }
  }
  return new PredictionInputError(0, '', `the model's feature SQL failed on ${values.length > 1 ? 'these rows' : 'this row'}: ${firstLine(batchError)}`);
}

export function createRawRowFeatures(model: string, version: number, recipe: ServingRecipe | null | undefined): RawRowFeatures {
  const refusal = rawRowsRefusal(recipe);
  const featureNames = recipe?.features.map((feature) => feature.name) ?? [];
  let session: Promise<RowTransformSession> | undefined;
  let closed = false;

  function open(): Promise<RowTransformSession> {
    if (session) return session;
    const opening = openRowTransformSession({ source: recipe!.source, transform: recipe!.transform, features: recipe!.features });
    // A failed open is forgotten so the next request tries again (the handler is attached once, not per request).
    opening.catch(() => {
      if (session === opening) session = undefined;
    });
    session = opening;
    return opening;
  }

  return {
    async featureRows(rows) {
      if (refusal) throw new RawRowsNotServableError(model, version, refusal);
      const values = validateSourceRows(rows, recipe!.source);
      const transform = await open();
      let produced;
      try {
        produced = await transform.transformRows(values);
      } catch (error) {
        // Values passed validation, so what is left is the transform itself failing on them (e.g. a cast): name the row.
        throw await failingRow(transform, values, error);
      }
      return produced.map((outputs, rowIndex) => {
        if (outputs.length !== 1) {
          throw new PredictionInputError(
            rowIndex,
            '',
            outputs.length === 0
              ? "the model's feature SQL produced no feature row for it (its WHERE clause filters it out)"
              : `the model's feature SQL produced ${outputs.length} feature rows for it; it must produce one`,
          );
        }
        const row: RawRow = {};
        const values = outputs[0]!;
        for (let index = 0; index < featureNames.length; index++) row[featureNames[index]!] = values[index] ?? null;
        return row;
      });
    },
    close() {
      if (closed) return;
      closed = true;
      void session?.then((opened) => opened.close(), () => undefined);
    },
  };
}
