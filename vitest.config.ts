import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Temporal's native worker module has crashed under worker threads; forks isolate it per file.
    pool: 'forks',
    globalSetup: ['./test/global-setup.ts'],
    // fast-check's seed: fixed, so CI repeats its cases; KEEL_FUZZ_SEED explores others (test/support/fast-check-settings.ts).
    setupFiles: ['./test/support/fast-check-setup.ts'],
    include: ['**/*.test.ts'],
    // test/python needs the Python trainer's environment: `npm run test:python` (vitest.python.config.ts).
    exclude: ['node_modules/**', '.keel/**', '.tools/**', 'bench/data/**', 'test/faults/**', 'test/python/**', 'trainers/**'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Two cores: more parallel files only make the Temporal and onnxruntime tests fight for CPU.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
