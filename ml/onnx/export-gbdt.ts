// Builds the ONNX subgraph of a GBDT: category codes via LabelEncoder, one feature matrix,
// and an ai.onnx.ml TreeEnsemble (opset 5) whose "true" branch is model.ts's "left".
import type { GbdtModel, Tree } from '../model.js';
import { GraphBuilder, ML_DOMAIN, doubleTensor, uint8Tensor } from './graph-builder.js';
import { OnnxDataType } from './onnx-proto.js';
import { MISSING_CATEGORY } from './missing-category.js';

const BRANCH_LEQ = 0;
const BRANCH_MEMBER = 6;

export interface EnsembleArrays {
  featureIds: number[];
  modes: number[];
  splits: number[];
  trueIds: number[];
  trueLeafs: number[];
  falseIds: number[];
  falseLeafs: number[];
  missingTracksTrue: number[];
  membership: number[];
  treeRoots: number[];
  leafWeights: number[];
  /** Contribution of single-leaf trees, which TreeEnsemble cannot hold; folded into the base score. */
  constantScore: number;
}

export function appendTree(tree: Tree, treeIndex: number, featureKinds: ('numeric' | 'categorical')[], out: EnsembleArrays): void {
  const nodeCount = tree.feature.length;
  if (nodeCount === 0) throw new Error(`tree ${treeIndex} has no nodes`);
  if (tree.feature[0] === -1) {
    out.constantScore += tree.value[0];
    return;
  }
  // Interior nodes and leaves get separate id spaces in TreeEnsemble v5; assign them in DFS order.
  const interiorId = new Map<number, number>();
  const pending: number[] = [0];
  const order: number[] = [];
  while (pending.length > 0) {
    const i = pending.pop()!;
    if (i < 0 || i >= nodeCount || !Number.isInteger(i)) throw new Error(`tree ${treeIndex} refers to missing node ${i}`);
    if (tree.feature[i] === -1) continue;
    if (interiorId.has(i)) throw new Error(`tree ${treeIndex} is not a tree: node ${i} is reached twice`);
    interiorId.set(i, out.featureIds.length + order.length);
    order.push(i);
    pending.push(tree.right[i], tree.left[i]);
  }
  out.treeRoots.push(interiorId.get(0)!);
  const seenLeaves = new Set<number>();
  const target = (child: number): { id: number; leaf: number } => {
    if (tree.feature[child] !== -1) return { id: interiorId.get(child)!, leaf: 0 };
    if (seenLeaves.has(child)) throw new Error(`tree ${treeIndex} is not a tree: leaf ${child} is reached twice`);
    seenLeaves.add(child);
    out.leafWeights.push(tree.value[child]);
    return { id: out.leafWeights.length - 1, leaf: 1 };
  };
  for (const i of order) {
    const feature = tree.feature[i];
    const kind = featureKinds[feature];
    if (kind === undefined) throw new Error(`tree ${treeIndex} node ${i} uses unknown feature index ${feature}`);
    out.featureIds.push(feature);
    out.missingTracksTrue.push(tree.missingLeft[i] ? 1 : 0);
    if (kind === 'numeric') {
      out.modes.push(BRANCH_LEQ);
      // Stored as the trainer's double: inputs are double too, so `x <= threshold` is the trainer's own test.
      out.splits.push(tree.threshold[i]);
    } else {
      const set = tree.categorySets[i];
      if (set === null || set === undefined) {
        throw new Error(`tree ${treeIndex} node ${i} splits categorical feature ${feature} without a category set`);
      }
      if (set.length === 0) {
        // No code is in an empty set; codes are >= 0, so "code <= -1" is the same test and needs no member list.
        out.modes.push(BRANCH_LEQ);
        out.splits.push(-1);
      } else {
        out.modes.push(BRANCH_MEMBER);
        out.splits.push(Number.NaN);
        for (const code of set) out.membership.push(code);
        out.membership.push(Number.NaN);
      }
    }
    const left = target(tree.left[i]);
    const right = target(tree.right[i]);
    out.trueIds.push(left.id);
    out.trueLeafs.push(left.leaf);
    out.falseIds.push(right.id);
    out.falseLeafs.push(right.leaf);
  }
}

/**
 * Adds the GBDT's raw score (base score + sum of trees) as a double [N, 1] value, from per-feature
 * graph inputs named in `inputNames` (model.features order). Returns the raw score's value name.
 */
export function addGbdtRawScore(graph: GraphBuilder, model: GbdtModel, inputNames: string[]): string {
  const matrix = addGbdtFeatureMatrix(graph, model, inputNames);

  const arrays = emptyEnsembleArrays();
  const kinds = model.features.map((f) => f.kind);
  model.trees.forEach((tree, index) => appendTree(tree, index, kinds, arrays));

  const base = graph.constant('base_score', doubleTensor([model.baseScore + arrays.constantScore], [1]));
  const treeSum = graph.node('TreeEnsemble', [matrix], treeEnsembleAttributes(arrays, 1), { domain: ML_DOMAIN });
  return graph.node('Add', [treeSum, base]);
}

export function emptyEnsembleArrays(): EnsembleArrays {
  return {
    featureIds: [], modes: [], splits: [], trueIds: [], trueLeafs: [], falseIds: [], falseLeafs: [],
    missingTracksTrue: [], membership: [], treeRoots: [], leafWeights: [], constantScore: 0,
  };
}

/** The features as one double [N, F] matrix: numerics as given, categoricals as their codes (NaN when unseen or missing). */
export function addGbdtFeatureMatrix(graph: GraphBuilder, model: GbdtModel, inputNames: string[]): string {
  const columns = model.features.map((feature, index) => {
    const input = inputNames[index];
    const asFloat =
      feature.kind === 'numeric'
        ? input
        : graph.node(
            'LabelEncoder',
            [input],
            {
              // A feature without categories still needs one key; it maps to NaN like everything else.
              keys_strings: { strings: feature.categories.length > 0 ? feature.categories : [MISSING_CATEGORY] },
              values_floats: { floats: feature.categories.length > 0 ? feature.categories.map((_, code) => code) : [Number.NaN] },
              // Unseen categories (and the missing sentinel) become NaN, which the trees route as missing.
              default_float: { float: Number.NaN },
            },
            { domain: ML_DOMAIN },
          );
    return graph.node('Cast', [asFloat], { to: { int: OnnxDataType.DOUBLE } });
  });
  return columns.length === 1 ? columns[0] : graph.node('Concat', columns, { axis: { int: 1 } });
}

/**
 * The TreeEnsemble attributes of the appended trees; `leafTargets` gives each leaf's target (all 0 when omitted).
 * Without any tree (TreeEnsemble needs one), a stump whose two leaves are 0 leaves the sum unchanged.
 */
export function treeEnsembleAttributes(arrays: EnsembleArrays, targets: number, leafTargets?: number[]): Parameters<GraphBuilder['node']>[2] {
  if (arrays.treeRoots.length === 0) {
    // TreeEnsemble needs at least one tree: a stump whose two leaves are 0 leaves the sum unchanged.
    arrays.treeRoots.push(0);
    arrays.featureIds.push(0);
    arrays.modes.push(BRANCH_LEQ);
    arrays.splits.push(0);
    arrays.trueIds.push(0);
    arrays.trueLeafs.push(1);
    arrays.falseIds.push(1);
    arrays.falseLeafs.push(1);
    arrays.missingTracksTrue.push(1);
    arrays.leafWeights.push(0, 0);
    leafTargets?.push(0, 0);
  }
  const attributes: Parameters<GraphBuilder['node']>[2] = {
    aggregate_function: { int: 1 },
    n_targets: { int: targets },
    post_transform: { int: 0 },
    tree_roots: { ints: arrays.treeRoots },
    nodes_featureids: { ints: arrays.featureIds },
    nodes_modes: { tensor: uint8Tensor(arrays.modes, [arrays.modes.length]) },
    nodes_splits: { tensor: doubleTensor(arrays.splits, [arrays.splits.length]) },
    nodes_truenodeids: { ints: arrays.trueIds },
    nodes_trueleafs: { ints: arrays.trueLeafs },
    nodes_falsenodeids: { ints: arrays.falseIds },
    nodes_falseleafs: { ints: arrays.falseLeafs },
    nodes_missing_value_tracks_true: { ints: arrays.missingTracksTrue },
    leaf_targetids: { ints: leafTargets ?? arrays.leafWeights.map(() => 0) },
    leaf_weights: { tensor: doubleTensor(arrays.leafWeights, [arrays.leafWeights.length]) },
  };
  if (arrays.membership.length > 0) {
    attributes.membership_values = { tensor: doubleTensor(arrays.membership, [arrays.membership.length]) };
  }
  return attributes;
}
