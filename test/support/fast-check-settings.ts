// The seed and case counts of the fast-check tests. Fixed by default, so CI runs the same cases every time and a
// failure there is a regression, not luck; set from the environment to explore new cases (README, Tests):
// `KEEL_FUZZ_SEED=$RANDOM npx vitest run test/route-fuzz.test.ts`, with `KEEL_FUZZ_RUNS=<n>` for more of them.

/** The seed every property test runs with unless KEEL_FUZZ_SEED says otherwise. */
export const DEFAULT_FUZZ_SEED = 20_261_202;

/** KEEL_FUZZ_SEED (any 32-bit integer), else the fixed default. */
export function fuzzSeed(env: NodeJS.ProcessEnv = process.env): number {
  return integerFromEnv(env, 'KEEL_FUZZ_SEED', -(2 ** 31), 2 ** 32 - 1) ?? DEFAULT_FUZZ_SEED;
}

/** KEEL_FUZZ_RUNS (a count from 1), else `fallback`. */
export function fuzzRuns(fallback: number, env: NodeJS.ProcessEnv = process.env): number {
  return integerFromEnv(env, 'KEEL_FUZZ_RUNS', 1, 1_000_000) ?? fallback;
}

function integerFromEnv(env: NodeJS.ProcessEnv, name: string, min: number, max: number): number | undefined {
  const text = env[name]?.trim();
  if (!text) return undefined;
  const value = Number(text);
  // A typo must not quietly fall back to the default seed: the run would not be the one asked for.
  if (!/^-?[0-9]+$/.test(text) || value < min || value > max) throw new Error(`${name} must be an integer from ${min} to ${max}, got "${text}"`);
  return value;
}
