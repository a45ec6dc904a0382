import { defineConfig } from 'vitest/config';

// `npm run test:python`: end-to-end runs with the reference Python trainer worker (trainers/python/), which needs
// its virtual environment (`npm run setup:python`). Kept out of `npm test`: the core platform never needs Python.
export default defineConfig({
  test: {
    pool: 'forks',
    globalSetup: ['./test/global-setup.ts'],
    include: ['test/python/**/*.test.ts'],
    testTimeout: 600_000,
    hookTimeout: 300_000,
    maxWorkers: 1,
    fileParallelism: false,
    reporters: ['default'],
  },
});
