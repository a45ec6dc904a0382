// Replays recorded histories of real runs against today's workflow code: a change that would break
// runs in flight (a non-deterministic edit without patched()) fails here.
import fs from 'node:fs/promises';
import path from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { workflowsPath } from '../workers/workflow-bundle.js';

const historiesDir = path.join(import.meta.dirname, 'histories');

describe('replay of recorded workflow histories', () => {
  it('replays every committed history without a determinism error', async () => {
    const files = (await fs.readdir(historiesDir)).filter((file) => file.endsWith('.json')).sort();
    expect(files.length).toBeGreaterThanOrEqual(10);
    const histories = await Promise.all(
      files.map(async (file) => ({
        workflowId: file.replace(/\.json$/, ''),
        history: historyFromJSON(JSON.parse(await fs.readFile(path.join(historiesDir, file), 'utf8'))),
      })),
    );
    const workflowBundle = await bundleWorkflowCode({ workflowsPath });
    const failures: string[] = [];
    for await (const result of Worker.runReplayHistories({ workflowBundle }, histories)) {
      if (result.error) failures.push(`${result.workflowId}: ${result.error.message}`);
    }
    expect(failures).toEqual([]);
  });
});
