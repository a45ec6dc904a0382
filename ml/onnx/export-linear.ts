// Builds the ONNX subgraph of a linear model: impute + standardise numerics, one-hot categoricals,
// weights and intercept — all in double, from double graph inputs.
import type { LinearModel } from '../model.js';
import { GraphBuilder, ML_DOMAIN, doubleTensor } from './graph-builder.js';
import { OnnxDataType } from './onnx-proto.js';

const utf8 = new TextEncoder();

/**
 * Adds the linear model's raw score (intercept + w·encoded(x)) as a double [N, 1] value.
 * `inputOf(name)` gives the graph input of a raw feature.
 * A one-hot block times its weights is the weight of the row's category (0 when unseen or missing), so each
 * categorical is a single LabelEncoder lookup from category string to weight instead of OneHot + MatMul.
 */
export function addLinearRawScore(graph: GraphBuilder, model: LinearModel, inputOf: (name: string) => string): string {
  const numericCount = model.numeric.length;
  const expectedWeights = numericCount + model.categorical.reduce((sum, c) => sum + c.categories.length, 0);
  if (model.weights.length !== expectedWeights) {
    throw new Error(`linear model has ${model.weights.length} weights but its encoding has ${expectedWeights} columns`);
  }
  const terms: string[] = [];
  const standardised = addLinearStandardisedNumerics(graph, model, inputOf);
  if (standardised !== null) {
    const weights = graph.constant('weights', doubleTensor(model.weights.slice(0, numericCount), [numericCount, 1]));
    terms.push(graph.node('MatMul', [standardised, weights]));
  }
  let offset = numericCount;
  for (const spec of model.categorical) {
    const blockWeights = model.weights.slice(offset, offset + spec.categories.length);
    offset += spec.categories.length;
    if (spec.categories.length === 0) continue;
    terms.push(addCategoryWeightLookup(graph, inputOf(spec.name), spec.categories, blockWeights));
  }
  terms.push(graph.constant('intercept', doubleTensor([model.intercept], [1])));
  if (terms.length === 1) {
    // No encoded columns (e.g. every category dropped): a [N, 1] zero from the first input's shape keeps the batch shape.
    const first = model.features[0];
    if (first === undefined) throw new Error('cannot export a linear model without features');
    const shape = graph.node('Shape', [inputOf(first.name)]);
    terms.push(graph.node('ConstantOfShape', [shape], { value: { tensor: doubleTensor([0], [1]) } }));
  }
  return graph.node('Sum', terms);
}

/** The numeric features imputed and standardised, as a double [N, numeric count] matrix; null without numerics. */
export function addLinearStandardisedNumerics(graph: GraphBuilder, model: LinearModel, inputOf: (name: string) => string): string | null {
  const numericCount = model.numeric.length;
  if (numericCount === 0) return null;
  const columns = model.numeric.map((spec) => graph.node('Cast', [inputOf(spec.name)], { to: { int: OnnxDataType.DOUBLE } }));
  const raw = columns.length === 1 ? columns[0] : graph.node('Concat', columns, { axis: { int: 1 } });
  const impute = graph.constant('impute', doubleTensor(model.numeric.map((s) => s.impute), [numericCount]));
  const mean = graph.constant('mean', doubleTensor(model.numeric.map((s) => s.mean), [numericCount]));
  const std = graph.constant('std', doubleTensor(model.numeric.map((s) => s.std), [numericCount]));
  const imputed = graph.node('Where', [graph.node('IsNaN', [raw]), impute, raw]);
  return graph.node('Div', [graph.node('Sub', [imputed, mean]), std]);
}

/** A categorical's one-hot block times its weights: the weight of the row's category, 0 when unseen or missing. */
export function addCategoryWeightLookup(graph: GraphBuilder, input: string, categories: string[], weights: number[]): string {
  return graph.node(
    'LabelEncoder',
    [input],
    {
      keys_tensor: { tensor: { dims: [categories.length], dataType: OnnxDataType.STRING, stringData: categories.map((c) => utf8.encode(c)) } },
      values_tensor: { tensor: doubleTensor(weights, [weights.length]) },
      default_tensor: { tensor: doubleTensor([0], [1]) },
    },
    { domain: ML_DOMAIN },
  );
}
