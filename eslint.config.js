// Type-aware lint: floating promises are bugs; workflow code must stay deterministic (no I/O, no Node built-ins).
import js from '@eslint/js';
import { builtinModules } from 'node:module';
import tseslint from 'typescript-eslint';

const nodeBuiltins = builtinModules.flatMap((name) => [name, `node:${name}`, `${name}/*`, `node:${name}/*`]);

/** Folders of Keel code, as import patterns that match at any depth (`../db/x.js`, `../../db/x.js`). */
const folder = (name) => [`**/${name}/**`, `**/${name}`];
const temporal = ['@temporalio/*'];
const http = ['fastify', '@fastify/*', 'node:http', 'node:https', 'http', 'https'];
const storage = ['pg', 'pg-*', 'drizzle-orm', 'drizzle-orm/*', '@duckdb/*', 'node:fs', 'node:fs/*', 'fs', 'fs/*'];

/**
 * One import rule between layers (issue 8): code under `files` may not import `group`, except as types when
 * `allowTypeImports`. Tests next to the code may wire layers together, so they are exempt.
 */
function boundary(files, message, group, { allowTypeImports = false } = {}) {
  return {
    files,
    ignores: ['**/*.test.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ group, message, allowTypeImports }] }] },
  };
}

export default tseslint.config(
  { ignores: ['.scratch*', '**/.scratch*', 'node_modules/**', '.keel/**', '.tools/**', 'bench/data/**', 'bench/.venv/**', 'trainers/python/.venv/**', 'coverage/**', 'dist/**', '**/*.js', '**/*.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'warn',
    },
  },
  {
    files: ['workflows/**/*.ts'],
    ignores: ['workflows/**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins.map((name) => ({ name, message: 'Workflow code must be deterministic: no Node built-ins.' })),
          patterns: [
            {
              group: [
                'pg', 'drizzle-orm', 'drizzle-orm/*', 'onnxruntime-node', '@duckdb/*', 'fastify', '@temporalio/client', '@temporalio/worker', '@temporalio/activity',
                ...['db', 'data', 'serving', 'api', 'artifacts', 'activities', 'workers', 'registry', 'evaluation', 'monitoring', 'training', 'runs', 'ml'].flatMap(folder),
              ],
              message: 'Workflow code reaches the world only through activities (import type is fine).',
              allowTypeImports: true,
            },
          ],
        },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'setTimeout', message: 'Use sleep() from @temporalio/workflow.' },
        { name: 'setInterval', message: 'Use sleep() in a loop from @temporalio/workflow.' },
        { name: 'fetch', message: 'Workflows do no I/O; call an activity.' },
        { name: 'process', message: 'Workflows do not read the environment.' },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Math', property: 'random', message: 'Randomness breaks replay; use uuid4() or an activity.' },
      ],
    },
  },
  // The layers' import rules (README "Architecture"): a violation fails `npm run lint`.
  boundary(['ml/**/*.ts'], 'ml/ is pure: no storage, HTTP, Temporal or other Keel layers (types from workflows/contracts are fine).', [
    ...storage, ...http, ...temporal, 'onnxruntime-node/*',
    ...['db', 'data', 'api', 'serving', 'activities', 'artifacts', 'workers', 'registry', 'evaluation', 'monitoring', 'training', 'runs', 'workflows'].flatMap(folder),
  ], { allowTypeImports: true }),
  boundary(['data/**/*.ts'], 'data/ does no HTTP serving and knows nothing of Temporal, activities, serving or the API.', [
    'fastify', '@fastify/*', ...temporal, ...['api', 'activities', 'workers', 'serving', 'registry', 'evaluation', 'monitoring'].flatMap(folder),
  ]),
  boundary(['db/**/*.ts'], 'db/ knows no HTTP and no workflow runtime code (the status tables and contract types are fine).', [
    ...http, ...temporal, ...['api', 'activities', 'workers', 'serving', 'registry', 'evaluation', 'monitoring'].flatMap(folder),
    '**/workflows/pipeline*', '**/workflows/model-monitor*', '**/workflows/review-gate*', '**/workflows/stage-tracker*', '**/workflows/index*',
  ]),
  boundary(['api/**/*.ts'], 'api/ starts workflows and reads repositories; it never imports activities, workers or workflow bodies.', [
    '@temporalio/worker', '@temporalio/activity', ...folder('activities'), ...folder('workers'),
    '**/workflows/pipeline.js', '**/workflows/model-monitor.js', '**/workflows/review-gate.js', '**/workflows/stage-tracker.js', '**/workflows/index.js',
  ]),
);
