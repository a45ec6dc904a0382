import { defineConfig } from 'vitest/config';

// `npm run test:faults`: the fault tests of issue 12 §2. Each file starts its own private stack (Temporal dev
// server, Postgres, workers, API) and kills parts of it, so no shared globalSetup; one file at a time.
export default defineConfig({
  test: {
    pool: 'forks',
    include: ['test/faults/**/*.test.ts'],
    testTimeout: 600_000,
    hookTimeout: 300_000,
    maxWorkers: 1,
    fileParallelism: false,
    reporters: ['default'],
  },
});
