// Deterministic full-batch Newton's method for L2-regularised logistic and least-squares regression,
// exploiting that each one-hot block has at most one active column per row.
import type { LinearDesign } from './linear-encoding.js';

export type GlmFamily = 'logistic' | 'gaussian';

export interface NewtonOptions {
  family: GlmFamily;
  l2: number;
  maxIterations: number;
  tolerance: number;
  /**
   * A fixed per-row term added to the linear predictor (logistic only): with log Σ_{j≠k} e^{z_j} it turns the
   * logistic fit into the exact block update of class k of a multinomial model.
   */
  offset?: Float64Array;
  /** Called with the parameters after the initial guess (iteration 0) and after every Newton step. */
  onIteration?: (iteration: number, beta: Float64Array, linearPredictor: Float64Array) => void;
}

export interface NewtonResult {
  beta: Float64Array;
  iterations: number;
  converged: boolean;
}

function logistic(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}

/** log(1 + e^z) without overflow. */
function softplus(z: number): number {
  return z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
}

/** out = X · v */
function multiply(design: LinearDesign, v: Float64Array, out: Float64Array): void {
  const { rowCount: n, denseWidth: d, dense, categoricalCount: m, active } = design;
  for (let i = 0; i < n; i++) {
    let z = 0;
    const base = i * d;
    for (let j = 0; j < d; j++) z += dense[base + j] * v[j];
    const cats = i * m;
    for (let c = 0; c < m; c++) {
      const col = active[cats + c];
      if (col >= 0) z += v[col];
    }
    out[i] = z;
  }
}

function objective(family: GlmFamily, y: Float64Array, z: Float64Array, beta: Float64Array, l2: number, interceptIndex: number): number {
  let loss = 0;
  if (family === 'logistic') {
    for (let i = 0; i < y.length; i++) loss += softplus(z[i]) - y[i] * z[i];
  } else {
    for (let i = 0; i < y.length; i++) loss += 0.5 * (z[i] - y[i]) ** 2;
  }
  let penalty = 0;
  for (let j = 0; j < beta.length; j++) if (j !== interceptIndex) penalty += beta[j] * beta[j];
  return loss / y.length + 0.5 * l2 * penalty;
}

/**
 * Accumulates the gradient and the upper triangle of the Hessian (both divided by n, penalty added),
 * then mirrors it. Row cost is O(d² + d·m + m²) rather than O(P²) thanks to the sparse one-hot blocks.
 */
function gradientAndHessian(
  design: LinearDesign, family: GlmFamily, y: Float64Array, z: Float64Array, beta: Float64Array, l2: number,
): { gradient: Float64Array; hessian: Float64Array } {
  const { rowCount: n, denseWidth: d, dense, categoricalCount: m, active, parameterCount: P, interceptIndex } = design;
  const gradient = new Float64Array(P);
  const hessian = new Float64Array(P * P);
  // Dense×one-hot block kept transposed (one-hot column major) so each row writes d contiguous values.
  const denseByColumn = new Float64Array(P * d);
  const weighted = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    let residual: number;
    let weight: number;
    if (family === 'logistic') {
      const mu = logistic(z[i]);
      residual = mu - y[i];
      weight = mu * (1 - mu);
    } else {
      residual = z[i] - y[i];
      weight = 1;
    }
    const base = i * d;
    for (let a = 0; a < d; a++) {
      const xa = dense[base + a];
      gradient[a] += residual * xa;
      weighted[a] = weight * xa;
    }
    for (let a = 0; a < d; a++) {
      const wa = weighted[a];
      if (wa === 0) continue;
      const row = a * P;
      for (let b = a; b < d; b++) hessian[row + b] += wa * dense[base + b];
    }
    const cats = i * m;
    for (let c = 0; c < m; c++) {
      const col = active[cats + c];
      if (col < 0) continue;
      gradient[col] += residual;
      const block = col * d;
      for (let a = 0; a < d; a++) denseByColumn[block + a] += weighted[a];
      // Blocks are laid out in categorical order, so later blocks have larger column indices.
      const row = col * P;
      hessian[row + col] += weight;
      for (let c2 = c + 1; c2 < m; c2++) {
        const col2 = active[cats + c2];
        if (col2 >= 0) hessian[row + col2] += weight;
      }
    }
  }
  for (let col = d; col < P; col++) {
    for (let a = 0; a < d; a++) hessian[a * P + col] = denseByColumn[col * d + a];
  }
  for (let a = 0; a < P; a++) {
    gradient[a] /= n;
    for (let b = a; b < P; b++) {
      const h = hessian[a * P + b] / n;
      hessian[a * P + b] = h;
      hessian[b * P + a] = h;
    }
    if (a !== interceptIndex) {
      gradient[a] += l2 * beta[a];
      hessian[a * P + a] += l2;
    }
  }
  return { gradient, hessian };
}

/**
 * Solves H x = b for symmetric positive (semi)definite H by Cholesky; a tiny ridge is added and the
 * factorisation retried when rounding makes a pivot non-positive (e.g. collinear one-hot columns with l2 = 0).
 */
export function solveSymmetric(hessian: Float64Array, b: Float64Array): Float64Array {
  const P = b.length;
  let trace = 0;
  for (let a = 0; a < P; a++) trace += hessian[a * P + a];
  for (let jitter = 0, attempt = 0; attempt < 8; attempt++, jitter = jitter === 0 ? 1e-12 * (trace / P || 1) : jitter * 100) {
    const L = new Float64Array(P * P);
    let ok = true;
    for (let j = 0; j < P && ok; j++) {
      let diagonal = hessian[j * P + j] + jitter;
      for (let k = 0; k < j; k++) diagonal -= L[j * P + k] ** 2;
      if (!(diagonal > 0)) {
        ok = false;
        break;
      }
      const ljj = Math.sqrt(diagonal);
      L[j * P + j] = ljj;
      for (let i = j + 1; i < P; i++) {
        let s = hessian[i * P + j];
        for (let k = 0; k < j; k++) s -= L[i * P + k] * L[j * P + k];
        L[i * P + j] = s / ljj;
      }
    }
    if (!ok) continue;
    const x = Float64Array.from(b);
    for (let i = 0; i < P; i++) {
      let s = x[i];
      for (let k = 0; k < i; k++) s -= L[i * P + k] * x[k];
      x[i] = s / L[i * P + i];
    }
    for (let i = P - 1; i >= 0; i--) {
      let s = x[i];
      for (let k = i + 1; k < P; k++) s -= L[k * P + i] * x[k];
      x[i] = s / L[i * P + i];
    }
    return x;
  }
  throw new Error('Newton step failed: the Hessian is not positive definite even with added ridge');
}

/**
 * Solves H x = b for symmetric positive definite H by Jacobi-preconditioned conjugate gradients, for parameter
 * counts where an O(P³) Cholesky factorisation per iteration would dominate. Every CG iterate started at 0 is a
 * descent direction, so an early stop still gives the line search a usable step.
 */
export function solveByConjugateGradient(hessian: Float64Array, b: Float64Array, relativeTolerance = 1e-10, maxIterations = 1000): Float64Array {
  const P = b.length;
  const x = new Float64Array(P);
  const r = Float64Array.from(b);
  const inverseDiagonal = new Float64Array(P);
  for (let j = 0; j < P; j++) {
    const h = hessian[j * P + j];
    inverseDiagonal[j] = h > 0 ? 1 / h : 1;
  }
  const zr = new Float64Array(P);
  for (let j = 0; j < P; j++) zr[j] = inverseDiagonal[j] * r[j];
  const p = Float64Array.from(zr);
  const hp = new Float64Array(P);
  let rz = 0;
  let bNorm = 0;
  for (let j = 0; j < P; j++) {
    rz += r[j] * zr[j];
    bNorm += b[j] * b[j];
  }
  const stop = relativeTolerance * relativeTolerance * bNorm;
  for (let iteration = 0; iteration < maxIterations; iteration++) {
    let rNorm = 0;
    for (let j = 0; j < P; j++) rNorm += r[j] * r[j];
    if (rNorm <= stop) break;
    let pHp = 0;
    for (let i = 0; i < P; i++) {
      let sum = 0;
      const row = i * P;
      for (let j = 0; j < P; j++) sum += hessian[row + j] * p[j];
      hp[i] = sum;
      pHp += p[i] * sum;
    }
    if (!(pHp > 0)) break;
    const alpha = rz / pHp;
    let rzNext = 0;
    for (let j = 0; j < P; j++) {
      x[j] += alpha * p[j];
      r[j] -= alpha * hp[j];
      zr[j] = inverseDiagonal[j] * r[j];
      rzNext += r[j] * zr[j];
    }
    const beta = rzNext / rz;
    rz = rzNext;
    for (let j = 0; j < P; j++) p[j] = zr[j] + beta * p[j];
  }
  return x;
}

/** Above this many parameters the Newton system is solved by conjugate gradients instead of Cholesky. */
export const CHOLESKY_MAX_PARAMETERS = 600;

export function fitNewton(design: LinearDesign, y: Float64Array, initial: Float64Array, options: NewtonOptions): NewtonResult {
  const { family, l2, interceptIndex } = { ...options, interceptIndex: design.interceptIndex };
  const n = design.rowCount;
  const beta = Float64Array.from(initial);
  const z = new Float64Array(n);
  const direction = new Float64Array(n);
  const trialZ = new Float64Array(n);
  multiply(design, beta, z);
  if (options.offset !== undefined) for (let i = 0; i < n; i++) z[i] += options.offset[i];
  options.onIteration?.(0, beta, z);
  let current = objective(family, y, z, beta, l2, interceptIndex);
  for (let iteration = 1; iteration <= options.maxIterations; iteration++) {
    const previous = current;
    const { gradient, hessian } = gradientAndHessian(design, family, y, z, beta, l2);
    // The Newton step is -step.
    const step =
      design.parameterCount <= CHOLESKY_MAX_PARAMETERS ? solveSymmetric(hessian, gradient) : solveByConjugateGradient(hessian, gradient);
    let decrement = 0;
    for (let j = 0; j < step.length; j++) decrement += gradient[j] * step[j];
    multiply(design, step, direction);
    if (decrement / 2 <= options.tolerance) {
      // Converged: the remaining full Newton step is tiny and safe, and it squares the gradient once more.
      for (let j = 0; j < beta.length; j++) beta[j] -= step[j];
      for (let i = 0; i < n; i++) z[i] -= direction[i];
      options.onIteration?.(iteration, beta, z);
      return { beta, iterations: iteration, converged: true };
    }
    // Backtracking (Armijo) line search; the full step is almost always accepted near the optimum.
    let t = 1;
    let accepted = false;
    const trialBeta = new Float64Array(beta.length);
    for (let halvings = 0; halvings < 40; halvings++, t /= 2) {
      for (let j = 0; j < beta.length; j++) trialBeta[j] = beta[j] - t * step[j];
      for (let i = 0; i < n; i++) trialZ[i] = z[i] - t * direction[i];
      const trial = objective(family, y, trialZ, trialBeta, l2, interceptIndex);
      if (trial <= current - 1e-4 * t * decrement) {
        beta.set(trialBeta);
        z.set(trialZ);
        current = trial;
        accepted = true;
        break;
      }
    }
    // No decrease possible in floating point: we are at the optimum to machine precision.
    if (!accepted) return { beta, iterations: iteration - 1, converged: true };
    options.onIteration?.(iteration, beta, z);
    // Least squares is quadratic, so one full Newton step is exact; for logistic loss Newton converges
    // quadratically, so once a step gains less than the tolerance the next would gain about its square.
    if (family === 'gaussian' && t === 1) return { beta, iterations: iteration, converged: true };
    if (previous - current <= options.tolerance * Math.max(1, Math.abs(current))) {
      return { beta, iterations: iteration, converged: true };
    }
  }
  return { beta, iterations: options.maxIterations, converged: false };
}

export { logistic, multiply as linearPredictor };
