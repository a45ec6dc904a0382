import { describe, expect, it } from 'vitest';
import { rocAuc } from '../../ml/metrics/index.js';
import { rocCurve } from '../../evaluation/evaluation-plots.js';
import { rocChart } from './charts.js';

/** The `d` of the candidate's ROC line (the layer after the dashed diagonal). */
function candidatePath(svg: string): string {
  const layer = /class="mark-line role-mark layer_1_marks"[^>]*>([\s\S]*?)<\/g>/.exec(svg);
  const path = layer ? /<path [^>]*d="([^"]+)"/.exec(layer[1]!) : null;
  if (!path) throw new Error('no candidate line in the SVG');
  return path[1]!;
}

describe('rocChart', () => {
  it('draws tied scores as the straight segment the AUC counts, not a staircase below it', async () => {
    // Every row scores the same: one threshold, the curve is the diagonal and the AUC is 0.5.
    const labels = [1, 0, 1, 0];
    const scores = [0.5, 0.5, 0.5, 0.5];
    expect(rocAuc(labels, scores)).toBe(0.5);
    const svg = await rocChart({ candidate: rocCurve(labels, scores), champion: null, championLabel: 'champion' });
    // 240 × 240 plot: from the bottom-left corner straight to the top-right one.
    expect(candidatePath(svg)).toBe('M0,240L240,0');
  });
});
