// The layers' import rules live in eslint.config.js; these cases prove a violation fails `npm run lint`.
import path from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const root = path.join(import.meta.dirname, '..');
// Synthetic files are not in the TypeScript project, so the type-aware rules (not under test here) are off.
const eslint = new ESLint({
  cwd: root,
  overrideConfig: {
    languageOptions: { parserOptions: { projectService: false } },
    rules: { '@typescript-eslint/no-floating-promises': 'off', '@typescript-eslint/no-misused-promises': 'off' },
  },
});

async function restrictedImports(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: path.join(root, file) });
  return result!.messages.filter((message) => message.ruleId === 'no-restricted-imports').map((message) => message.message);
}

describe('import rules between layers', () => {
  it.each([
    ['workflows/example.ts', "import { createDb } from '../db/client.js';\nexport const x = createDb;\n"],
    ['workflows/contracts/example.ts', "import { snapshotDataset } from '../../data/snapshot-dataset.js';\nexport const x = snapshotDataset;\n"],
    ['ml/example.ts', "import pg from 'pg';\nexport const x = pg;\n"],
    ['ml/gbdt/example.ts', "import { openDuckDb } from '../../data/duckdb-session.js';\nexport const x = openDuckDb;\n"],
    ['data/example.ts', "import Fastify from 'fastify';\nexport const x = Fastify;\n"],
    ['db/example.ts', "import { pipeline } from '../workflows/pipeline.js';\nexport const x = pipeline;\n"],
    ['api/example.ts', "import { createDataActivities } from '../activities/data-activities.js';\nexport const x = createDataActivities;\n"],
    ['api/routes/example.ts', "import { Worker } from '@temporalio/worker';\nexport const x = Worker;\n"],
  ])('when %s imports across its boundary, then lint fails', async (file, code) => {
    expect(await restrictedImports(file, code)).not.toEqual([]);
  });

  it.each([
    ['workflows/example.ts', "import type { Db } from '../db/client.js';\nexport type X = Db;\n"],
    ['ml/example.ts', "import type { Task } from '../workflows/contracts/run-spec.js';\nexport type X = Task;\n"],
    ['db/example.ts', "import { RUN_STATUSES } from '../workflows/run-status.js';\nexport const x = RUN_STATUSES;\n"],
    ['api/example.ts', "import { reviewUpdate } from '../workflows/pipeline-messages.js';\nexport const x = reviewUpdate;\n"],
  ])('when %s imports what its layer may, then lint allows it', async (file, code) => {
    expect(await restrictedImports(file, code)).toEqual([]);
  });
});
