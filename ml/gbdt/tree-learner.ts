// Leaf-wise (best-first) growth of one tree on binned data, LightGBM style: rows of each leaf are a
// contiguous range of one index array (the data partition); only the smaller child's
// histogram is built from rows, the larger one is the parent's minus it.

import type { Tree } from '../model.js';
import { MISSING_BIN, type BinnedMatrix } from './binning.js';
import { HelperThread } from './helper-thread.js';
import type { HistogramLayout } from './histogram.js';
import type { PhaseProfile } from './phase-profile.js';
import { RowRecords } from './row-records.js';
import type { GbdtParams } from './params.js';
import { findBestSplit, leafOutput, type SplitInfo } from './split-finder.js';

/** A grown tree plus what the trainer needs to update scores without re-traversing in-bag rows. */
export interface GrownTree {
  tree: Tree;
  /** Per interior node: 256 flags, 1 = a row with that bin of the node's feature goes left. Null for leaves. */
  leftMasks: (Uint8Array | null)[];
  leafCount: number;
  /** Leaf l owns partition rows [leafBegin[l], leafBegin[l] + leafSize[l]); its contribution is leafValue[l]. */
  leafBegin: Int32Array;
  leafSize: Int32Array;
  leafValue: Float64Array;
}

/**
 * Leaves with fewer rows than this stay on the calling thread: below it, waking a helper costs more than it saves
 * (histogram-threads.ts: 0.88× at 10k rows, 1.56× at 50k).
 */
export const DEFAULT_PARALLEL_MIN_ROWS = 20_000;

export interface TreeLearnerThreads {
  /** Threads in all, the calling one included (1 = no helper threads). */
  numThreads: number;
  /** Smallest leaf whose histogram and partition are shared with the helpers (and fewest rows whose gradients, load and scores are). */
  parallelMinRows: number;
  /** Times each phase (benchmarks): the helpers then time their jobs too. */
  profile?: PhaseProfile;
}

/** Kernels the helper threads run on ranges besides histograms and partitions. */
const HELPER_CALLS = ['loadRange', 'binaryGradientsRange', 'scatterLeafIds', 'addLeafValues', 'swapBytes'] as const;

export class TreeLearner {
  /** The data partition; valid for the last grown tree until the next call. */
  readonly rows: Int32Array;
  /** Free histograms, reused across leaves and trees; grown on demand (only splittable leaves hold one). */
  private readonly histPool: Float64Array[] = [];
  private readonly isCategorical: Uint8Array;
  private readonly records: RowRecords;
  /** Helper threads (none on one thread); the first `histogramHelpers` of them also build histogram feature groups. */
  private readonly helpers: HelperThread[] = [];
  private readonly histogramHelpers: number;
  private readonly parallelMinRows: number;
  private readonly profile: PhaseProfile | null;

  constructor(
    private readonly data: BinnedMatrix,
    private readonly layout: HistogramLayout,
    isCategorical: boolean[],
    private readonly params: GbdtParams,
    threads: TreeLearnerThreads = { numThreads: 1, parallelMinRows: DEFAULT_PARALLEL_MIN_ROWS },
  ) {
    // No leaf of a small dataset would reach the helpers: do not start them.
    const shared = threads.numThreads > 1 && data.rowCount >= threads.parallelMinRows;
    this.isCategorical = Uint8Array.from(isCategorical, (c) => (c ? 1 : 0));
    // Feature groups of (nearly) equal size, one per thread; each bin is summed by one thread in record order,
    // so the histogram is the same bit for bit whatever the number of threads.
    const f = layout.featureCount;
    const groups = shared ? Math.min(threads.numThreads, f) : 1;
    const bounds = Array.from({ length: groups + 1 }, (_, t) => Math.floor((t * f) / groups));
    const threadCount = shared ? Math.max(groups, 2) : 1;
    const classCount = params.task === 'multiclass' ? params.numClass! : 1;
    // Live histograms: one per splittable leaf (each holds ≥ 2·minDataInLeaf of the rows), plus a split's two children.
    const histograms = Math.min(params.numLeaves + 1, Math.floor(data.rowCount / (2 * Math.max(1, params.minDataInLeaf))) + 2);
    this.records = new RowRecords(data, layout, { threads: threadCount, gradientLength: data.rowCount * classCount, histograms, leaves: params.numLeaves, groupBounds: bounds });
    this.rows = this.records.rows;
    this.parallelMinRows = threads.parallelMinRows;
    this.histogramHelpers = groups - 1;
    this.profile = threads.profile ?? null;
    this.records.profile = this.profile;
    const { module, memory } = this.records;
    const common = { module, memory, calls: HELPER_CALLS, clockSource: this.profile?.clock.helperClockSource };
    for (let t = 1; t < groups; t++) this.helpers.push(new HelperThread({ ...common, histogram: `group${t}`, scratch: RowRecords.scratchOf(t) }));
    // One feature but several threads: no histogram groups to share, the partition still halves.
    if (shared && groups === 1) this.helpers.push(new HelperThread({ ...common, histogram: 'histogram', scratch: RowRecords.scratchOf(1) }));
  }

  /**
   * Gradient, hessian and score arrays (rows × trees per iteration) and a label array (rows) in the learner's
   * memory: grow() and binaryGradients() read them without a copy.
   */
  get arrays(): { grad: Float64Array; hess: Float64Array; score: Float64Array; label: Float64Array } {
    return { grad: this.records.grad, hess: this.records.hess, score: this.records.scores, label: this.records.labels };
  }

  /** score[row] += the grown tree's leaf value of each row; the tree must hold every row (grown without bagging). `score` is a view of arrays.score. */
  addToScores(grown: GrownTree, score: Float64Array): void {
    this.records.addLeafValues(grown.leafCount, grown.leafBegin, grown.leafSize, grown.leafValue, score, this.helpersFor(score.length));
  }

  /** The binary objective's gradients at `score` and its mean log loss (objective.ts's computeGradients, bit for bit), on views of arrays. */
  binaryGradients(score: Float64Array, label: Float64Array, grad: Float64Array, hess: Float64Array): number {
    return this.records.binaryGradients(score, label, grad, hess, this.helpersFor(score.length));
  }

  /** The helpers that share work over `rows` rows: all of them from parallelMinRows rows on, else none. */
  private helpersFor(rows: number): readonly HelperThread[] {
    return rows >= this.parallelMinRows ? this.helpers : [];
  }

  /** Ends the helper threads. */
  async close(): Promise<void> {
    await Promise.all(this.helpers.map((h) => h.close()));
  }

  /** Histogram of records [begin, end) into `hist`, its feature groups on the helpers when the leaf is large. */
  private histogramOf(hist: Float64Array, begin: number, end: number): void {
    const kernels = this.records.kernels;
    const address = this.records.address(hist);
    const profile = this.profile;
    profile?.begin();
    if (this.histogramHelpers === 0 || end - begin < this.parallelMinRows) {
      kernels.histogram(address, begin, end);
      profile?.end('histograms');
      return;
    }
    for (let i = 0; i < this.histogramHelpers; i++) this.helpers[i].startHistogram(address, begin, end);
    kernels.groups[0](address, begin, end);
    profile?.joined();
    for (let i = 0; i < this.histogramHelpers; i++) this.helpers[i].finish();
    profile?.end('histograms', this.helpers.slice(0, this.histogramHelpers));
  }

  private partitionLeaf(begin: number, size: number, feature: number, mask: Uint8Array): number {
    const helper = this.helpers.length > 0 && size >= this.parallelMinRows ? this.helpers[0] : null;
    return this.records.partition(begin, size, feature, mask, helper);
  }

  /** findBestSplit, timed when profiling. */
  private bestSplit(hist: Float64Array, usedFeature: Uint8Array, sums: { grad: number; hess: number; count: number }): SplitInfo | null {
    this.profile?.begin();
    const best = findBestSplit(hist, this.layout, this.isCategorical, usedFeature, sums, this.params);
    this.profile?.end('splits');
    return best;
  }

  /**
   * Grows one tree on rows inBag[0..inBagCount) (ascending) with the given gradients.
   * Leaf values are already multiplied by the learning rate.
   */
  grow(grad: Float64Array, hess: Float64Array, inBag: Int32Array, inBagCount: number, usedFeature: Uint8Array): GrownTree {
    const p = this.params;
    const maxLeaves = p.numLeaves;
    const rows = this.rows;
    rows.set(inBag.subarray(0, inBagCount));

    const leafBegin = new Int32Array(maxLeaves);
    const leafSize = new Int32Array(maxLeaves);
    const leafDepth = new Int32Array(maxLeaves);
    const leafNode = new Int32Array(maxLeaves);
    const leafGrad = new Float64Array(maxLeaves);
    const leafHess = new Float64Array(maxLeaves);
    const leafOut = new Float64Array(maxLeaves);
    const leafHist: (Float64Array | null)[] = new Array(maxLeaves).fill(null);
    const leafBest: (SplitInfo | null)[] = new Array(maxLeaves).fill(null);
    // Features a leaf may still split on after a split of it was refused on real row counts (null: all used).
    const leafFeatures: (Uint8Array | null)[] = new Array(maxLeaves).fill(null);
    const free = this.histPool;

    const tree: Tree = { feature: [], threshold: [], categorySets: [], missingLeft: [], left: [], right: [], value: [], gain: [] };
    const leftMasks: (Uint8Array | null)[] = [];
    const addLeafNode = (): number => {
      tree.feature.push(-1);
      tree.threshold.push(0);
      tree.categorySets.push(null);
      tree.missingLeft.push(false);
      tree.left.push(-1);
      tree.right.push(-1);
      tree.value.push(0);
      tree.gain.push(0);
      leftMasks.push(null);
      return tree.feature.length - 1;
    };

    // One pass loads the records and builds the root's histogram and sums (in the records' single precision, so
    // the sums agree with the histogram). Gradients not in the learner's memory are copied there first.
    const rootHist = free.pop() ?? this.records.newHistogram();
    if (!this.records.holds(grad) || !this.records.holds(hess)) {
      this.records.grad.set(grad);
      this.records.hess.set(hess);
      grad = this.records.grad.subarray(0, grad.length);
      hess = this.records.hess.subarray(0, hess.length);
    }
    const loaders = this.histogramHelpers > 0 ? this.helpersFor(inBagCount) : [];
    this.records.loadWithRootHistogram(rootHist, inBagCount, grad, hess, loaders, loaders.length === 0 ? 0 : this.histogramHelpers);
    const g0 = this.records.sums[0];
    const h0 = this.records.sums[1];
    leafBegin[0] = 0;
    leafSize[0] = inBagCount;
    leafNode[0] = addLeafNode();
    leafGrad[0] = g0;
    leafHess[0] = h0;
    leafOut[0] = leafOutput(g0, h0, p.lambdaL2);
    let numLeaves = 1;
    if (this.canSplit(inBagCount, 0)) {
      leafHist[0] = rootHist;
      leafBest[0] = this.bestSplit(rootHist, usedFeature, { grad: g0, hess: h0, count: inBagCount });
      if (leafBest[0] === null) {
        free.push(rootHist);
        leafHist[0] = null;
      }
    } else {
      free.push(rootHist);
    }

    while (numLeaves < maxLeaves) {
      let target = -1;
      let targetGain = -Infinity;
      for (let l = 0; l < numLeaves; l++) {
        const s = leafBest[l];
        if (s !== null && s.gain > targetGain) {
          targetGain = s.gain;
          target = l;
        }
      }
      if (target < 0) break;
      const split = leafBest[target]!;
      const mask = splitLeftMask(split);
      const begin = leafBegin[target];
      const leftSize = this.partitionLeaf(begin, leafSize[target], split.feature, mask);
      const rightSize = leafSize[target] - leftSize;
      if (leftSize < p.minDataInLeaf || rightSize < p.minDataInLeaf) {
        // The hessian-based count estimate was wrong: the rows are now in leaf order (still one block, so the
        // reordering is harmless) and counted exactly. Refuse the split; search again without this feature.
        const allowed = leafFeatures[target] ?? Uint8Array.from(usedFeature);
        allowed[split.feature] = 0;
        leafFeatures[target] = allowed;
        const sums = { grad: leafGrad[target], hess: leafHess[target], count: leafSize[target] };
        leafBest[target] = this.bestSplit(leafHist[target]!, allowed, sums);
        if (leafBest[target] === null) {
          free.push(leafHist[target]!);
          leafHist[target] = null;
        }
        continue;
      }

      const node = leafNode[target];
      const leftNode = addLeafNode();
      const rightNode = addLeafNode();
      tree.feature[node] = split.feature;
      tree.threshold[node] = split.leftCategoryBins === null ? split.thresholdBin : 0; // bin index for now; the trainer maps it to a raw edge
      tree.categorySets[node] = split.leftCategoryBins === null ? null : split.leftCategoryBins.map((b) => b - 1);
      tree.missingLeft[node] = split.missingLeft;
      tree.left[node] = leftNode;
      tree.right[node] = rightNode;
      tree.gain[node] = split.gain;
      leftMasks[node] = mask;

      const right = numLeaves++;
      const depth = leafDepth[target] + 1;
      leafBegin[right] = begin + leftSize;
      leafSize[right] = rightSize;
      leafSize[target] = leftSize;
      leafDepth[target] = depth;
      leafDepth[right] = depth;
      leafNode[target] = leftNode;
      leafNode[right] = rightNode;
      leafGrad[target] = split.leftGrad;
      leafHess[target] = split.leftHess;
      leafGrad[right] = split.rightGrad;
      leafHess[right] = split.rightHess;
      leafOut[target] = leafOutput(split.leftGrad, split.leftHess, split.l2);
      leafOut[right] = leafOutput(split.rightGrad, split.rightHess, split.l2);

      const parentHist = leafHist[target]!;
      leafHist[target] = null;
      leafBest[target] = null;
      leafFeatures[target] = null;
      // The last split of a tree needs no child histograms: nothing will be split after it.
      const moreSplits = numLeaves < maxLeaves;
      if (moreSplits && (this.canSplit(leftSize, depth) || this.canSplit(rightSize, depth))) {
        const smaller = leftSize <= rightSize ? target : right;
        const larger = smaller === target ? right : target;
        const smallHist = free.pop() ?? this.records.newHistogram();
        this.histogramOf(smallHist, leafBegin[smaller], leafBegin[smaller] + leafSize[smaller]);
        this.profile?.begin();
        this.records.kernels.subtract(this.records.address(parentHist), this.records.address(smallHist));
        this.profile?.end('histograms');
        leafHist[smaller] = smallHist;
        leafHist[larger] = parentHist;
        for (const l of [target, right]) {
          if (this.canSplit(leafSize[l], depth)) {
            leafBest[l] = this.bestSplit(leafHist[l]!, usedFeature, { grad: leafGrad[l], hess: leafHess[l], count: leafSize[l] });
          }
          if (leafBest[l] === null) {
            free.push(leafHist[l]!);
            leafHist[l] = null;
          }
        }
      } else {
        free.push(parentHist);
      }
    }

    for (let l = 0; l < numLeaves; l++) if (leafHist[l] !== null) free.push(leafHist[l]!);

    const leafValue = new Float64Array(numLeaves);
    for (let l = 0; l < numLeaves; l++) {
      leafValue[l] = leafOut[l] * p.learningRate;
      tree.value[leafNode[l]] = leafValue[l];
    }
    return { tree, leftMasks, leafCount: numLeaves, leafBegin, leafSize, leafValue };
  }

  private canSplit(size: number, depth: number): boolean {
    const p = this.params;
    return size >= 2 * p.minDataInLeaf && (p.maxDepth <= 0 || depth < p.maxDepth);
  }
}

/** 256 go-left flags for a split, indexed by bin. */
export function splitLeftMask(split: Pick<SplitInfo, 'thresholdBin' | 'leftCategoryBins' | 'missingLeft'>): Uint8Array {
  const mask = new Uint8Array(256);
  if (split.leftCategoryBins === null) {
    for (let b = 1; b <= split.thresholdBin; b++) mask[b] = 1;
  } else {
    for (const b of split.leftCategoryBins) mask[b] = 1;
  }
  mask[MISSING_BIN] = split.missingLeft ? 1 : 0;
  return mask;
}

/** Leaf node reached by row `row` of a binned matrix. */
export function leafNodeOfBinnedRow(tree: Tree, leftMasks: (Uint8Array | null)[], data: BinnedMatrix, row: number): number {
  let node = 0;
  while (tree.feature[node] >= 0) {
    node = leftMasks[node]![data.columns[tree.feature[node]][row]] === 1 ? tree.left[node] : tree.right[node];
  }
  return node;
}
