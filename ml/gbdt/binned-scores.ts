// Scores of a binned dataset that trees are added to one at a time (the validation rows during training): the rows'
// bins, row-major, and the scores live in a WebAssembly memory of their own, and each tree is added to every row's
// score by one generated pass. The same walk and the same one add per row as leafNodeOfBinnedRow and a JavaScript
// loop, so the scores are the same bit for bit.

import type { Tree } from '../model.js';
import type { BinnedMatrix } from './binning.js';
import { wasm, WASM_PAGE } from './wasm-encoder.js';
import { scoringKernel, scoringModule, type ScoringLayout } from './wasm-kernels.js';

export class BinnedScores {
  /** Class-major scores, scores[k * rowCount + row]; a view of the memory, valid for this object's life. */
  readonly scores: Float64Array;
  private readonly layout: ScoringLayout;
  private readonly bytes: Uint8Array;
  private readonly int32: Int32Array;
  private readonly float64: Float64Array;
  private readonly addTreeKernel: (score: number) => void;
  private readonly maxNodes: number;

  /** `maxNodes`: the most nodes of any tree that will be added. */
  constructor(data: BinnedMatrix, classCount: number, maxNodes: number) {
    const rows = data.rowCount;
    const features = data.featureCount;
    const align = (x: number) => Math.ceil(x / 16) * 16;
    const scores = align(rows * features);
    const feature = align(scores + rows * classCount * 8);
    const left = feature + maxNodes * 4;
    const right = left + maxNodes * 4;
    const value = align(right + maxNodes * 4);
    const masks = value + maxNodes * 8;
    const end = masks + maxNodes * 256;
    this.layout = { rowCount: rows, featureCount: features, bins: 0, feature, left, right, value, masks };
    const pages = Math.max(1, Math.ceil(end / WASM_PAGE));
    const memory = new wasm.Memory({ initial: pages, maximum: pages });
    this.addTreeKernel = scoringKernel(scoringModule(this.layout, pages), memory);
    this.bytes = new Uint8Array(memory.buffer);
    this.int32 = new Int32Array(memory.buffer);
    this.float64 = new Float64Array(memory.buffer);
    this.scores = new Float64Array(memory.buffer, scores, rows * classCount);
    for (let f = 0; f < features; f++) {
      const column = data.columns[f];
      for (let r = 0, at = f; r < rows; r++, at += features) this.bytes[at] = column[r];
    }
    this.maxNodes = maxNodes;
  }

  /** Adds the tree's leaf value of each row to class k's scores; leftMasks as leafNodeOfBinnedRow takes them. */
  addTree(tree: Tree, leftMasks: (Uint8Array | null)[], k: number): void {
    const nodes = tree.feature.length;
    if (nodes > this.maxNodes) throw new RangeError(`a tree of ${nodes} nodes; room for ${this.maxNodes}`);
    const { feature, left, right, value, masks, rowCount } = this.layout;
    for (let node = 0; node < nodes; node++) {
      const leaf = tree.feature[node] < 0;
      this.int32[feature / 4 + node] = leaf ? 0 : tree.feature[node];
      this.int32[left / 4 + node] = leaf ? node : tree.left[node];
      this.int32[right / 4 + node] = leaf ? node : tree.right[node];
      this.float64[value / 8 + node] = tree.value[node];
      const mask = leftMasks[node];
      if (mask !== null) this.bytes.set(mask, masks + node * 256);
    }
    this.addTreeKernel(this.scores.byteOffset + k * rowCount * 8);
  }
}
