// Replays recorded histories of real runs against today's workflow code: a change that would break
// runs in flight (a non-deterministic edit without patched()) fails here.
import fs from 'node:fs/promises';
import path from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { workflowsPath } from '../workers/workflow-bundle.js';
import { PIPELINE_PATCHES } from '../workflows/pipeline-patches.js';

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

  it('replays the monitor histories recorded before reports existed, and one of the reporting monitor, against today\'s monitor', async () => {
    // The first two took the deployment-only loop (no patch marker); the third ticked, reported, started a retrain
    // and continued as new behind patched('monitor-reports').
    const names = ['monitor-deployments', 'monitor-continue-as-new', 'monitor-reports-retrain'];
    const histories = await Promise.all(
      names.map(async (name) => ({
        workflowId: name,
        history: historyFromJSON(JSON.parse(await fs.readFile(path.join(historiesDir, `${name}.json`), 'utf8'))),
      })),
    );
    const patchIds = (history: (typeof histories)[number]['history']) =>
      (history.events ?? []).flatMap((event) =>
        event.markerRecordedEventAttributes?.markerName === 'core_patch'
          ? [(JSON.parse(Buffer.from(event.markerRecordedEventAttributes.details?.['patch-data']?.payloads?.[0]?.data ?? new Uint8Array()).toString('utf8')) as { id: string }).id]
          : [],
      );
    expect(patchIds(histories[0]!.history)).toEqual([]);
    expect(patchIds(histories[1]!.history)).toEqual([]);
    expect(patchIds(histories[2]!.history)).toEqual(['monitor-reports']);
    const lastEvent = (history: (typeof histories)[number]['history']) => history.events?.at(-1);
    expect(lastEvent(histories[1]!.history)?.workflowExecutionContinuedAsNewEventAttributes).toBeTruthy();
    expect(lastEvent(histories[2]!.history)?.workflowExecutionContinuedAsNewEventAttributes).toBeTruthy();
    const workflowBundle = await bundleWorkflowCode({ workflowsPath });
    const results: { workflowId: string; error: string | null }[] = [];
    for await (const result of Worker.runReplayHistories({ workflowBundle }, histories)) {
      results.push({ workflowId: result.workflowId, error: result.error ? result.error.message : null });
    }
    expect(results.sort((a, b) => a.workflowId.localeCompare(b.workflowId))).toEqual(
      [...names].sort().map((workflowId) => ({ workflowId, error: null })),
    );
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
  it('includes the pipeline histories of the race fixes, each recorded down its patched branch', async () => {
    const expected: Record<string, string[]> = {
      'pipeline-deploy-late-cancel': [PIPELINE_PATCHES.transientRetries, PIPELINE_PATCHES.deployNotCancellable],
      'pipeline-expire-refuses-late-review': [PIPELINE_PATCHES.transientRetries],
      'pipeline-cancel-during-review': [PIPELINE_PATCHES.transientRetries, PIPELINE_PATCHES.withdrawOnCancel],
      // The model approval policy decides (or hands to a person); the review is signed by the API.
      'pipeline-policy-auto-approve': [PIPELINE_PATCHES.transientRetries, PIPELINE_PATCHES.modelApprovalPolicy, PIPELINE_PATCHES.deployNotCancellable],
      'pipeline-signed-review': [PIPELINE_PATCHES.transientRetries, PIPELINE_PATCHES.modelApprovalPolicy, PIPELINE_PATCHES.deployNotCancellable],
      // Recorded before the fixes: they replay down the old branches.
      'pipeline-expire': [],
      'pipeline-cancel': [],
    };
    for (const [name, patches] of Object.entries(expected)) {
      const history = historyFromJSON(JSON.parse(await fs.readFile(path.join(historiesDir, `${name}.json`), 'utf8')));
      const patchIds = (history.events ?? []).flatMap((event) =>
        event.markerRecordedEventAttributes?.markerName === 'core_patch'
          ? [(JSON.parse(Buffer.from(event.markerRecordedEventAttributes.details?.['patch-data']?.payloads?.[0]?.data ?? new Uint8Array()).toString('utf8')) as { id: string }).id]
          : [],
      );
      expect({ name, patchIds }).toEqual({ name, patchIds: patches });
    }
  });
});
