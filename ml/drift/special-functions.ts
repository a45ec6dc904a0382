// Special functions behind the drift p-values: the regularised incomplete gamma function (chi-square) and the
// Kolmogorov distribution (KS). Written by hand because no maintained TypeScript library covers both; tested
// against scipy values in special-functions.test.ts.

// Lanczos approximation, g = 7, n = 9 (the coefficients used by many numerical libraries): ~15 significant digits.
const LANCZOS_G = 7;
const LANCZOS_COEFFICIENTS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

/** ln Γ(x) for x > 0. */
export function logGamma(x: number): number {
  if (!(x > 0)) throw new RangeError(`logGamma needs x > 0, got ${x}`);
  // Reflection keeps the series accurate for small x: Γ(x)Γ(1 − x) = π / sin(πx).
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const z = x - 1;
  let sum = LANCZOS_COEFFICIENTS[0];
  for (let i = 1; i < LANCZOS_G + 2; i++) sum += LANCZOS_COEFFICIENTS[i] / (z + i);
  const t = z + LANCZOS_G + 0.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(sum);
}

const MAX_ITERATIONS = 10_000;
const RELATIVE_EPSILON = 1e-15;
/** Smallest representable magnitude kept away from zero in the Lentz continued fraction. */
const TINY = 1e-300;

/** P(a, x) by its power series; converges quickly for x < a + 1 (Numerical Recipes `gser`). */
function lowerGammaSeries(a: number, x: number): number {
  let term = 1 / a;
  let sum = term;
  for (let n = 1; n < MAX_ITERATIONS; n++) {
    term *= x / (a + n);
    sum += term;
    if (Math.abs(term) < Math.abs(sum) * RELATIVE_EPSILON) break;
  }
  return sum * Math.exp(-x + a * Math.log(x) - logGamma(a));
}

/** Q(a, x) by its continued fraction, modified Lentz; converges quickly for x ≥ a + 1 (Numerical Recipes `gcf`). */
function upperGammaContinuedFraction(a: number, x: number): number {
  let b = x + 1 - a;
  let c = 1 / TINY;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < MAX_ITERATIONS; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < TINY) d = TINY;
    c = b + an / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < RELATIVE_EPSILON) break;
  }
  return Math.exp(-x + a * Math.log(x) - logGamma(a)) * h;
}

/** Regularised upper incomplete gamma Q(a, x) = Γ(a, x) / Γ(a), a > 0, x ≥ 0 (scipy.special.gammaincc). */
export function regularizedGammaQ(a: number, x: number): number {
  if (!(a > 0)) throw new RangeError(`regularizedGammaQ needs a > 0, got ${a}`);
  if (!(x >= 0)) throw new RangeError(`regularizedGammaQ needs x >= 0, got ${x}`);
  if (x === 0) return 1;
  if (x === Number.POSITIVE_INFINITY) return 0;
  // Each branch is used where it converges fast; the other side follows from P + Q = 1.
  if (x < a + 1) return Math.min(1, Math.max(0, 1 - lowerGammaSeries(a, x)));
  return Math.min(1, Math.max(0, upperGammaContinuedFraction(a, x)));
}

/** Regularised lower incomplete gamma P(a, x) = 1 − Q(a, x) (scipy.special.gammainc). */
export function regularizedGammaP(a: number, x: number): number {
  if (!(a > 0)) throw new RangeError(`regularizedGammaP needs a > 0, got ${a}`);
  if (!(x >= 0)) throw new RangeError(`regularizedGammaP needs x >= 0, got ${x}`);
  if (x === 0) return 0;
  if (x === Number.POSITIVE_INFINITY) return 1;
  if (x < a + 1) return Math.min(1, Math.max(0, lowerGammaSeries(a, x)));
  return Math.min(1, Math.max(0, 1 - upperGammaContinuedFraction(a, x)));
}

/** Survival function of the chi-square distribution: P(X ≥ statistic) with `dof` degrees of freedom (scipy chi2.sf). */
export function chiSquareSurvival(statistic: number, dof: number): number {
  if (!(dof > 0)) throw new RangeError(`chi-square needs dof > 0, got ${dof}`);
  if (statistic <= 0) return 1;
  return regularizedGammaQ(dof / 2, statistic / 2);
}

/**
 * Survival function of the limiting Kolmogorov distribution, P(K > x) = 2 Σ_{k≥1} (−1)^{k−1} e^{−2k²x²}
 * (scipy.stats.kstwobign.sf). For small x that alternating series converges slowly, so the equivalent
 * Jacobi-theta form 1 − (√(2π)/x) Σ_{k≥1} e^{−(2k−1)²π²/(8x²)} is used there.
 */
export function kolmogorovSurvival(x: number): number {
  if (Number.isNaN(x)) throw new RangeError('kolmogorovSurvival of NaN');
  if (x <= 0) return 1;
  if (x < 1) {
    const w = (Math.PI * Math.PI) / (8 * x * x);
    let sum = 0;
    for (let k = 1; k < 100; k++) {
      const term = Math.exp(-(2 * k - 1) * (2 * k - 1) * w);
      sum += term;
      if (term < 1e-17 * sum) break;
    }
    return Math.min(1, Math.max(0, 1 - (Math.sqrt(2 * Math.PI) / x) * sum));
  }
  let sum = 0;
  for (let k = 1; k < 100; k++) {
    const term = Math.exp(-2 * k * k * x * x);
    sum += k % 2 === 1 ? term : -term;
    if (term < 1e-17) break;
  }
  return Math.min(1, Math.max(0, 2 * sum));
}
