// Raw source rows → the model's feature rows through the version's serving recipe, in a DuckDB opened on first
// use and kept for the loaded version's lifetime (one per version, the transform prepared once).
import { openRowTransformSession, type RowTransformSession } from '../data/row-transform-session.js';
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

export function createRawRowFeatures(model: string, version: number, recipe: ServingRecipe | null | undefined): RawRowFeatures {
  const refusal = rawRowsRefusal(recipe);
  let session: Promise<RowTransformSession> | undefined;
  let closed = false;

  function open(): Promise<RowTransformSession> {
    session ??= openRowTransformSession({ source: recipe!.source, transform: recipe!.transform, features: recipe!.features });
    // A failed open is forgotten so the next request tries again.
    session.catch(() => {
      session = undefined;
    });
    return session;
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
        // Values passed validation, so what is left is the transform itself failing on them (e.g. a cast).
        throw new PredictionInputError(0, '', `the model's feature SQL failed on these rows: ${firstLine(error)}`);
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
        recipe!.features.forEach((feature, index) => {
          row[feature.name] = outputs[0]![index] ?? null;
        });
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
