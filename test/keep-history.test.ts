// The recording helper never overwrites a committed history, and names a recording of new patched() branches apart.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PIPELINE_PATCHES } from '../workflows/pipeline-patches.js';
import { historiesDir, historyFileName, keepHistory, patchIdsOf } from './support/keep-history.js';

let dir: string;

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'keel-keep-history-'));
});

afterAll(async () => {
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

const committed = async (file: string) => historyFromJSON(JSON.parse(await fs.readFile(path.join(historiesDir, file), 'utf8')));
const handleOf = (history: Awaited<ReturnType<typeof committed>>) => ({ fetchHistory: async () => history });

describe('keepHistory', () => {
  it('when a history of the same name and branches exists, then it keeps it byte for byte; other branches get a new file', async () => {
    const unpatched = await committed('pipeline-cancel.json');
    const patched = await committed('pipeline-deploy-late-cancel.json');
    expect(await keepHistory('pipeline-x', handleOf(unpatched), { record: true, dir })).toEqual({ written: 'pipeline-x.json' });
    const first = await fs.readFile(path.join(dir, 'pipeline-x.json'));

    // Re-recording the same path (here: from another run of the same branches) never replaces what is committed.
    const rerun = await committed('pipeline-expire.json');
    expect(await keepHistory('pipeline-x', handleOf(rerun), { record: true, dir })).toEqual({ kept: 'pipeline-x.json' });
    expect(await fs.readFile(path.join(dir, 'pipeline-x.json'))).toEqual(first);

    const newBranches = 'pipeline-x@deploy-not-cancellable+transient-retries.json';
    expect(await keepHistory('pipeline-x', handleOf(patched), { record: true, dir })).toEqual({ written: newBranches });
    expect(await keepHistory('pipeline-x', handleOf(patched), { record: true, dir })).toEqual({ kept: newBranches });
    expect((await fs.readdir(dir)).sort()).toEqual(['pipeline-x.json', newBranches]);
    expect(await fs.readFile(path.join(dir, 'pipeline-x.json'))).toEqual(first);
  });

  it('when recording is off, then it writes nothing', async () => {
    const history = await committed('pipeline-cancel.json');
    expect(await keepHistory('pipeline-off', handleOf(history), { record: false, dir })).toEqual({ skipped: 'not recording' });
    expect(await fs.readdir(dir)).not.toContain('pipeline-off.json');
  });

  it('names every committed history after the patch ids it recorded', async () => {
    for (const file of (await fs.readdir(historiesDir)).filter((name) => name.includes('@'))) {
      const base = file.slice(0, file.indexOf('@'));
      expect(historyFileName(base, patchIdsOf(await committed(file)))).toBe(file);
    }
  });
});

describe('the committed histories', () => {
  /** Histories recorded from today's pipeline (its runs always take the transient-retries branch), by branch. */
  const todaysPipelineBranches = [
    'approve', 'reject', 'expire', 'auto-approve', 'auto-reject', 'data-rejected', 'parity-failed', 'cancel',
    'cancel-during-review', 'duplicate-review', 'requester-review', 'deploy-failed', 'deploy-late-cancel',
    'expire-refuses-late-review', 'production-moved', 'scheduled', 'e2e-real-activities', 'external-trainer',
    'external-trainer-failed', 'external-trainer-no-worker',
  ];

  it("cover every branch of today's pipeline: scheduled runs, reviews, cancellation, deploy failures, failed runs", async () => {
    const files = await fs.readdir(historiesDir);
    const missing: string[] = [];
    for (const branch of todaysPipelineBranches) {
      const candidates = files.filter((file) => file === `pipeline-${branch}.json` || file.startsWith(`pipeline-${branch}@`));
      const patchSets = await Promise.all(candidates.map(async (file) => patchIdsOf(await committed(file))));
      if (!patchSets.some((ids) => ids.includes(PIPELINE_PATCHES.transientRetries))) missing.push(branch);
    }
    expect(missing).toEqual([]);
  });

  it("cover today's monitor: deployments, reports with a retrain, continue-as-new", async () => {
    const files = await fs.readdir(historiesDir);
    const reporting = await Promise.all(
      files.filter((file) => file.startsWith('monitor-')).map(async (file) => ({ file, ids: patchIdsOf(await committed(file)) })),
    );
    const covered = reporting.filter(({ ids }) => ids.includes('monitor-reports')).map(({ file }) => file.replace(/(@.*)?\.json$/, ''));
    expect([...new Set(covered)].sort()).toEqual(expect.arrayContaining(['monitor-continue-as-new', 'monitor-deployments', 'monitor-reports-retrain']));
  });
});
