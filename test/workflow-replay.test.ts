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
  it('replays every committed history, of every workflow type, without a determinism error', async () => {
    const files = (await fs.readdir(historiesDir)).filter((file) => file.endsWith('.json')).sort();
    expect(files.length).toBeGreaterThanOrEqual(13);
    const histories = await Promise.all(
      files.map(async (file) => ({
        workflowId: file.replace(/\.json$/, ''),
        history: historyFromJSON(JSON.parse(await fs.readFile(path.join(historiesDir, file), 'utf8'))),
      })),
    );
    // The replayer takes each workflow's type from its first event; the monitor's histories replay beside the pipeline's.
    const workflowTypes = new Set(
      histories.map(({ history }) => history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name),
    );
    expect([...workflowTypes].sort()).toEqual(['modelMonitor', 'pipeline']);
    const workflowBundle = await bundleWorkflowCode({ workflowsPath });
    const failures: string[] = [];
    const replayed: string[] = [];
    for await (const result of Worker.runReplayHistories({ workflowBundle }, histories)) {
      replayed.push(result.workflowId);
      if (result.error) failures.push(`${result.workflowId}: ${result.error.message}`);
    }
    expect(failures).toEqual([]);
    expect(replayed.sort()).toEqual(histories.map(({ workflowId }) => workflowId).sort());
  });

  it('includes a run started by a Temporal Schedule, so the registerScheduledRun branch is guarded', async () => {
    const history = historyFromJSON(JSON.parse(await fs.readFile(path.join(historiesDir, 'pipeline-scheduled.json'), 'utf8')));
    const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
    expect(started?.workflowType?.name).toBe('pipeline');
    expect(started?.workflowId).toMatch(/^pipeline\/flights\/sched-/);
    // Local activities (registerScheduledRun is one) are recorded as markers whose data names the activity type.
    const localActivityTypes = (history.events ?? []).flatMap((event) =>
      (event.markerRecordedEventAttributes?.details?.data?.payloads ?? []).map(
        (payload) => (JSON.parse(Buffer.from(payload.data ?? new Uint8Array()).toString('utf8')) as { activity_type?: string }).activity_type,
      ),
    );
    expect(localActivityTypes[0]).toBe('registerScheduledRun');
  });
});
