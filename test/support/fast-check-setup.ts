// vitest setup file: every fast-check property in the suite runs from one seed (fixed unless KEEL_FUZZ_SEED is
// set), so CI repeats its cases. fast-check prints the seed and path of a failure; rerun with that seed to repeat it.
import fc from 'fast-check';
import { fuzzSeed } from './fast-check-settings.js';

fc.configureGlobal({ seed: fuzzSeed() });
