// Full Newton's method for L2-regularised multinomial logistic regression on a LinearDesign, for problems small
// enough for a dense (K·P)² Hessian. Softmax scores are invariant to a shift of every intercept, so the last
// class's intercept is pinned at its start value (the Hessian is singular along that direction otherwise).
import type { LinearDesign } from './linear-encoding.js';
import { linearPredictor, solveSymmetric } from './newton-solver.js';

/** Full Newton runs while K × P stays below this; beyond, the trainer falls back to block-coordinate steps. */
export const MULTINOMIAL_NEWTON_MAX_PARAMETERS = 900;

export interface MultinomialFit {
  /** Objective (mean log loss + l2/2 · ||w||²) at `betas`. */
  objective(betas: Float64Array[]): number;
  /** One damped Newton step on every class at once; false when converged (the step's decrement is below tolerance). */
  step(betas: Float64Array[]): boolean;
}

export function multinomialNewton(design: LinearDesign, y: Float64Array, classCount: number, l2: number, tolerance: number): MultinomialFit {
  const n = design.rowCount;
  const P = design.parameterCount;
  const Q = classCount * P;
  const { denseWidth: d, dense, categoricalCount: m, active, interceptIndex } = design;
  const pinned = (classCount - 1) * P + interceptIndex;
  const scores = Array.from({ length: classCount }, () => new Float64Array(n));
  const p = new Float64Array(classCount);

  const probabilitiesOf = (betas: Float64Array[]) => betas.forEach((beta, k) => linearPredictor(design, beta, scores[k]));
  const rowSoftmax = (i: number) => {
    let max = -Infinity;
    for (let k = 0; k < classCount; k++) max = Math.max(max, scores[k][i]);
    let sum = 0;
    for (let k = 0; k < classCount; k++) sum += p[k] = Math.exp(scores[k][i] - max);
    for (let k = 0; k < classCount; k++) p[k] /= sum;
  };
  const objective = (betas: Float64Array[]): number => {
    probabilitiesOf(betas);
    let loss = 0;
    for (let i = 0; i < n; i++) {
      rowSoftmax(i);
      loss -= Math.log(Math.max(1e-300, p[y[i]]));
    }
    let penalty = 0;
    for (const beta of betas) for (let j = 0; j < P; j++) if (j !== interceptIndex) penalty += beta[j] * beta[j];
    return loss / n + 0.5 * l2 * penalty;
  };

  const step = (betas: Float64Array[]): boolean => {
    const current = objective(betas);
    const gradient = new Float64Array(Q);
    const hessian = new Float64Array(Q * Q);
    const columns = new Int32Array(d + m);
    const values = new Float64Array(d + m);
    for (let i = 0; i < n; i++) {
      rowSoftmax(i);
      let nonzero = 0;
      for (let a = 0; a < d; a++) {
        const v = dense[i * d + a];
        if (v !== 0) {
          columns[nonzero] = a;
          values[nonzero++] = v;
        }
      }
      for (let c = 0; c < m; c++) {
        const col = active[i * m + c];
        if (col >= 0) {
          columns[nonzero] = col;
          values[nonzero++] = 1;
        }
      }
      for (let k = 0; k < classCount; k++) {
        const residual = p[k] - (y[i] === k ? 1 : 0);
        for (let a = 0; a < nonzero; a++) gradient[k * P + columns[a]] += residual * values[a];
        for (let l = k; l < classCount; l++) {
          const weight = p[k] * ((k === l ? 1 : 0) - p[l]);
          if (weight === 0) continue;
          for (let a = 0; a < nonzero; a++) {
            const row = (k * P + columns[a]) * Q + l * P;
            const wa = weight * values[a];
            for (let b = 0; b < nonzero; b++) hessian[row + columns[b]] += wa * values[b];
          }
        }
      }
    }
    // Only blocks (k, l ≥ k) were accumulated: the blocks below the diagonal mirror them.
    for (let r = P; r < Q; r++) for (let c = 0; c < Math.floor(r / P) * P; c++) hessian[r * Q + c] = hessian[c * Q + r];
    for (let r = 0; r < Q; r++) {
      gradient[r] /= n;
      for (let c = 0; c < Q; c++) hessian[r * Q + c] /= n;
      if (r % P !== interceptIndex) {
        gradient[r] += l2 * betas[Math.floor(r / P)][r % P];
        hessian[r * Q + r] += l2;
      }
    }
    for (let c = 0; c < Q; c++) hessian[pinned * Q + c] = hessian[c * Q + pinned] = 0;
    hessian[pinned * Q + pinned] = 1;
    gradient[pinned] = 0;

    const direction = solveSymmetric(hessian, gradient);
    let decrement = 0;
    for (let r = 0; r < Q; r++) decrement += gradient[r] * direction[r];
    if (decrement / 2 <= tolerance) {
      for (let r = 0; r < Q; r++) betas[Math.floor(r / P)][r % P] -= direction[r];
      return false;
    }
    const trial = betas.map((beta) => Float64Array.from(beta));
    for (let t = 1, halvings = 0; halvings < 40; halvings++, t /= 2) {
      for (let r = 0; r < Q; r++) trial[Math.floor(r / P)][r % P] = betas[Math.floor(r / P)][r % P] - t * direction[r];
      if (objective(trial) <= current - 1e-4 * t * decrement) {
        trial.forEach((beta, k) => betas[k].set(beta));
        return true;
      }
    }
    // No decrease possible in floating point: at the optimum to machine precision.
    return false;
  };
  return { objective, step };
}
