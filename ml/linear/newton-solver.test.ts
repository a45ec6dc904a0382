import { describe, expect, it } from 'vitest';
import { solveByConjugateGradient, solveSymmetric } from './newton-solver.js';
import { seededRandom } from '../gbdt/prng.js';

/** A = Mᵀ M / rows + ridge·I: symmetric positive definite like a penalised Hessian. */
function randomSpd(P: number, seed: number, ridge: number): Float64Array {
  const rand = seededRandom(seed);
  const rows = 2 * P;
  const M = Float64Array.from({ length: rows * P }, () => (rand() < 0.3 ? rand() - 0.5 : 0));
  const A = new Float64Array(P * P);
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < P; i++) {
      const mi = M[r * P + i];
      if (mi === 0) continue;
      for (let j = 0; j < P; j++) A[i * P + j] += (mi * M[r * P + j]) / rows;
    }
  }
  for (let i = 0; i < P; i++) A[i * P + i] += ridge;
  return A;
}

function residual(A: Float64Array, x: Float64Array, b: Float64Array): number {
  const P = b.length;
  let worst = 0;
  for (let i = 0; i < P; i++) {
    let s = 0;
    for (let j = 0; j < P; j++) s += A[i * P + j] * x[j];
    worst = Math.max(worst, Math.abs(s - b[i]));
  }
  return worst;
}

describe('Newton system solvers', () => {
  it('when the matrix is symmetric positive definite, then Cholesky and conjugate gradients agree and solve it', () => {
    const P = 120;
    const A = randomSpd(P, 3, 1e-3);
    const rand = seededRandom(4);
    const b = Float64Array.from({ length: P }, () => rand() - 0.5);
    const byCholesky = solveSymmetric(A, b);
    const byCg = solveByConjugateGradient(A, b);
    expect(residual(A, byCholesky, b)).toBeLessThan(1e-10);
    expect(residual(A, byCg, b)).toBeLessThan(1e-8);
    for (let j = 0; j < P; j++) expect(byCg[j]).toBeCloseTo(byCholesky[j], 6);
  });

  it('when the matrix is singular (collinear columns, no penalty), then Cholesky adds a tiny ridge and still returns a solution', () => {
    // [[1, 1], [1, 1]] x = [2, 2] has solutions x1 + x2 = 2.
    const x = solveSymmetric(Float64Array.from([1, 1, 1, 1]), Float64Array.from([2, 2]));
    expect(x[0] + x[1]).toBeCloseTo(2, 6);
  });
});
