// The multiclass head of an exported model: per-class raw scores (GBDT: one TreeEnsemble with a target per class;
// linear: MatMul + Add), Softmax into `probabilities` (double [N, K]) and the most probable class's label
// (ArgMax, then a LabelEncoder from class index to the class string), so the graph answers in class names.
import type { GbdtModel, LinearModel } from '../model.js';
import { addGbdtFeatureMatrix, appendTree, emptyEnsembleArrays, treeEnsembleAttributes } from './export-gbdt.js';
import { addCategoryWeightLookup, addLinearStandardisedNumerics } from './export-linear.js';
import { GraphBuilder, ML_DOMAIN, doubleTensor } from './graph-builder.js';
import { OnnxDataType } from './onnx-proto.js';

/** Double [N, K] raw scores of a multiclass GBDT: tree t adds to class t % K, on top of the class's base score. */
export function addGbdtClassScores(graph: GraphBuilder, model: GbdtModel, inputNames: string[]): string {
  const classes = model.classes ?? [];
  const baseScores = model.baseScores ?? [];
  const classCount = classes.length;
  if (classCount < 3 || baseScores.length !== classCount) {
    throw new Error(`multiclass GBDT needs at least 3 classes and one base score per class (${classCount} classes, ${baseScores.length} base scores)`);
  }
  if (model.trees.length % classCount !== 0) throw new Error(`multiclass GBDT has ${model.trees.length} trees, not a multiple of ${classCount} classes`);
  const matrix = addGbdtFeatureMatrix(graph, model, inputNames);
  const arrays = emptyEnsembleArrays();
  const leafTargets: number[] = [];
  const base = [...baseScores];
  const kinds = model.features.map((f) => f.kind);
  model.trees.forEach((tree, index) => {
    const k = index % classCount;
    const leavesBefore = arrays.leafWeights.length;
    const constantBefore = arrays.constantScore;
    appendTree(tree, index, kinds, arrays);
    // A single-leaf tree is folded into the constant: move it to its class's base score.
    base[k] += arrays.constantScore - constantBefore;
    arrays.constantScore = constantBefore;
    for (let leaf = leavesBefore; leaf < arrays.leafWeights.length; leaf++) leafTargets.push(k);
  });
  const baseTensor = graph.constant('class_base_scores', doubleTensor(base, [classCount]));
  const treeSums = graph.node('TreeEnsemble', [matrix], treeEnsembleAttributes(arrays, classCount, leafTargets), { domain: ML_DOMAIN });
  return graph.node('Add', [treeSums, baseTensor]);
}

/** Double [N, K] raw scores of a multinomial logistic model: per class, intercept + w_k · encoded(x). */
export function addLinearClassScores(graph: GraphBuilder, model: LinearModel, inputOf: (name: string) => string): string {
  const multiclass = model.multiclass;
  if (multiclass === undefined) throw new Error('multiclass linear model has no per-class weights');
  const classCount = multiclass.classes.length;
  const numericCount = model.numeric.length;
  const terms: string[] = [];
  const standardised = addLinearStandardisedNumerics(graph, model, inputOf);
  if (standardised !== null) {
    // Row j of the [numeric count, K] matrix: numeric column j's weight for each class.
    const weights: number[] = [];
    for (let j = 0; j < numericCount; j++) for (let k = 0; k < classCount; k++) weights.push(multiclass.weights[k][j]);
    terms.push(graph.node('MatMul', [standardised, graph.constant('class_weights', doubleTensor(weights, [numericCount, classCount]))]));
  }
  let offset = numericCount;
  for (const spec of model.categorical) {
    const start = offset;
    offset += spec.categories.length;
    if (spec.categories.length === 0) continue;
    const perClass = multiclass.weights.map((w) => addCategoryWeightLookup(graph, inputOf(spec.name), spec.categories, w.slice(start, offset)));
    terms.push(graph.node('Concat', perClass, { axis: { int: 1 } }));
  }
  terms.push(graph.constant('class_intercepts', doubleTensor(multiclass.intercepts, [classCount])));
  if (terms.length === 1) {
    const first = model.features[0];
    if (first === undefined) throw new Error('cannot export a linear model without features');
    // No encoded columns: [N, 1] zeros from the first input's shape keep the batch shape.
    terms.push(graph.node('ConstantOfShape', [graph.node('Shape', [inputOf(first.name)])], { value: { tensor: doubleTensor([0], [1]) } }));
  }
  return graph.node('Sum', terms);
}

/**
 * Softmax of the raw scores as the double `probabilities` output, and the most probable class's name as the string
 * `label` output (the first class on ties, as ArgMax selects).
 */
export function addMulticlassOutputs(graph: GraphBuilder, rawScores: string, classes: string[], names: { label: string; probabilities: string }): void {
  graph.node('Softmax', [rawScores], { axis: { int: 1 } }, { outputName: names.probabilities });
  const best = graph.node('ArgMax', [names.probabilities], { axis: { int: 1 }, keepdims: { int: 1 }, select_last_index: { int: 0 } });
  graph.node(
    'LabelEncoder',
    [best],
    {
      keys_int64s: { ints: classes.map((_, k) => k) },
      values_strings: { strings: classes },
      default_string: { string: '' },
    },
    { domain: ML_DOMAIN, outputName: names.label },
  );
  graph.output(names.label, OnnxDataType.STRING, ['N', 1]);
  graph.output(names.probabilities, OnnxDataType.DOUBLE, ['N', classes.length]);
}
