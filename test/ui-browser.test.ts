// The review page in a real browser on the real stack: Debian's Chromium driven by playwright-core (nothing downloads
// a browser), the API listening on a port, real pipeline and training workers, Postgres, the dev server, and the
// shipped seattle-weather data. The requester sees the form disabled (four eyes); a reviewer signs in with an API key,
// opens the run awaiting review, sees the ROC curve, approves with a comment and watches the run deploy.
import fs from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { Client } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTrainingActivities } from '../activities/training-activities.js';
import { buildApp, type KeelApp } from '../api/app.js';
import { ensureAdminKey } from '../api/auth/admin-bootstrap.js';
import { FsArtifactStore } from '../artifacts/fs-artifact-store.js';
import { loadConfig, type KeelConfig } from '../config.js';
import { DEMO_DATASET, demoRunSpec } from '../dev/bootstrap.js';
import { createModelCache, type ModelCache } from '../serving/model-cache.js';
import { createPipelineActivities } from '../workers/pipeline-worker.js';
import type { WorkerDeps } from '../workers/worker-deps.js';
import { bundleKeelWorkflows } from '../workers/workflow-bundle.js';
import { monitorWorkflowId } from '../workflows/workflow-ids.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { connectTestTemporal, uniqueName, type TestTemporal } from './support/temporal.js';

const CHROMIUM_CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/lib/chromium/chromium'];
const chromiumPath = CHROMIUM_CANDIDATES.find((candidate) => existsSync(candidate));
if (!chromiumPath) {
  console.warn(`[ui-browser] skipped: no Chromium executable at ${CHROMIUM_CANDIDATES.join(', ')} (apt-get install chromium)`);
}
/** Where the README's screenshots are written when set (e.g. docs/screenshots); otherwise nowhere. */
const screenshotDir = process.env.KEEL_UI_SCREENSHOT_DIR;

let database: TestDatabase;
let temporal: TestTemporal;
let app: KeelApp;
let baseUrl: string;
let scratch: string;
let config: KeelConfig;
let workers: { pipeline: Worker; training: Worker } | undefined;
let workersDone: Promise<unknown> = Promise.resolve();
let modelCache: ModelCache | undefined;
let browser: Browser | undefined;
const keys = { admin: '', engineer: '', reviewer: '', requesterReviewer: '' };
const model = uniqueName('ui-rain');

async function api(method: string, url: string, key: string, body?: unknown) {
  const response = await fetch(`${baseUrl}${url}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> & { id?: string; status?: string; reason?: string; secret?: string; entries?: unknown } };
}

async function waitForStatus(runId: string, wanted: string): Promise<void> {
  for (let attempt = 0; attempt < 1500; attempt++) {
    const { body } = await api('GET', `/v1/runs/${runId}`, keys.engineer);
    if (body.status === wanted) return;
    if (!['running', 'awaiting_review'].includes(body.status ?? '')) throw new Error(`run ${runId} ended ${body.status}: ${body.reason}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`run ${runId} never reached ${wanted}`);
}

async function signIn(apiKey: string, next: string): Promise<Page> {
  const context = await browser!.newContext({ viewport: { width: 1000, height: 900 }, javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto(`${baseUrl}${next}`);
  // No session yet: the page sends us to sign in, and back afterwards.
  expect(new URL(page.url()).pathname).toBe('/ui/login');
  await page.fill('#apiKey', apiKey);
  await Promise.all([page.waitForNavigation(), page.click('button[type=submit]:has-text("Sign in")')]);
  return page;
}

describe.skipIf(!chromiumPath)('the review page in Chromium', () => {
  beforeAll(async () => {
    [database, temporal] = await Promise.all([createTestDatabase(), connectTestTemporal()]);
    scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'keel-ui-browser-'));
    config = loadConfig({
      KEEL_DATA_DIR: scratch,
      DATABASE_URL: database.url,
      TEMPORAL_ADDRESS: temporal.address,
      KEEL_PIPELINE_TASK_QUEUE: uniqueName('pipeline'),
      KEEL_TRAINING_TASK_QUEUE: uniqueName('training'),
      KEEL_SIGNING_KEY: `ui-browser-signing-key-${uniqueName('k')}-0123456789abcdef`,
    });
    await fs.mkdir(config.dataRoots[0]!, { recursive: true });
    const artifacts = new FsArtifactStore(config.artifactDir);
    const deps: WorkerDeps = { config, temporalAddress: temporal.address, db: database, artifacts, close: async () => undefined };
    const client = new Client({ connection: temporal.connection });
    modelCache = createModelCache({ db: database.db, pool: database.pool, artifacts, logger: pino({ name: 'ui-model-cache', level: 'error' }) });
    workers = {
      pipeline: await Worker.create({
        connection: temporal.workerConnection,
        taskQueue: config.taskQueues.pipeline,
        workflowBundle: await bundleKeelWorkflows(config.signingKey!),
        activities: createPipelineActivities(deps, client, { modelCache, logger: { warn: () => undefined } }),
      }),
      training: await Worker.create({
        connection: temporal.workerConnection,
        taskQueue: config.taskQueues.training,
        activities: createTrainingActivities({ artifacts, checkpointDir: path.join(scratch, 'checkpoints'), keelVersion: 'test' }),
        maxConcurrentActivityTaskExecutions: 1,
      }),
    };
    workersDone = Promise.all([workers.pipeline.run(), workers.training.run()]);
    keys.admin = (await ensureAdminKey(database.db, { adminKey: undefined })).secret!;
    app = await buildApp({
      config,
      db: database.db,
      pool: database.pool,
      temporal: { client: temporal.client, connection: temporal.connection },
      logger: false,
    });
    baseUrl = await app.listen({ host: '127.0.0.1', port: 0 });
    browser = await chromium.launch({
      executablePath: chromiumPath,
      // Chromium refuses its sandbox as root (CI containers).
      chromiumSandbox: process.getuid?.() !== 0,
    });
  });

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await temporal?.client.workflow.getHandle(monitorWorkflowId(model)).terminate('test cleanup').catch(() => undefined);
    workers?.pipeline.shutdown();
    workers?.training.shutdown();
    await workersDone;
    await modelCache?.close();
    await Promise.allSettled([database?.close(), temporal?.close()]);
    if (scratch) await fs.rm(scratch, { recursive: true, force: true });
  });

  it('the requester sees the form disabled; a reviewer sees the ROC curve, approves with a comment and sees the run deployed', { timeout: 600_000 }, async () => {
    for (const [name, roles, user] of [
      ['alice', ['engineer'], undefined],
      ['bob', ['reviewer'], undefined],
      ['alice-reviews', ['reviewer'], 'alice'],
    ] as const) {
      const created = await api('POST', '/v1/keys', keys.admin, { name, roles, ...(user ? { user } : {}) });
      expect(created.status).toBe(201);
      keys[name === 'alice' ? 'engineer' : name === 'bob' ? 'reviewer' : 'requesterReviewer'] = created.body.secret!;
    }
    const datasetPath = path.join(config.dataRoots[0]!, 'seattle-weather.csv');
    await fs.copyFile(DEMO_DATASET, datasetPath);
    const started = await api('POST', '/v1/runs', keys.engineer, { ...demoRunSpec(datasetPath), model });
    expect(started.status).toBe(201);
    const runId = started.body.id as string;
    await waitForStatus(runId, 'awaiting_review');

    // alice started the run: even holding a reviewer key she sees the form disabled, and why.
    const requester = await signIn(keys.requesterReviewer, `/ui/runs/${runId}`);
    expect(new URL(requester.url()).pathname).toBe(`/ui/runs/${runId}`);
    await expect(requester.locator('#review-disabled-reason').textContent()).resolves.toContain('four eyes');
    expect(await requester.locator('button.approve').isDisabled()).toBe(true);
    expect(await requester.locator('#comment').isDisabled()).toBe(true);

    // bob, a reviewer, finds the run on the list (awaiting review first) and opens it.
    const reviewer = await signIn(keys.reviewer, '/ui/');
    await expect(reviewer.locator('h2').first().textContent()).resolves.toContain('Awaiting review');
    await Promise.all([reviewer.waitForNavigation(), reviewer.click(`a[href="/ui/runs/${runId}"]`)]);
    const roc = reviewer.locator('#roc-curve svg[aria-label="ROC curve"]');
    expect(await roc.isVisible()).toBe(true);
    const box = await roc.boundingBox();
    expect(box!.width).toBeGreaterThan(100);
    // The curve is drawn from the stored points: a path with many segments, not an empty frame.
    expect((await roc.locator('path').evaluateAll((paths) => paths.map((p) => p.getAttribute('d') ?? '').join(''))).length).toBeGreaterThan(500);
    expect(await reviewer.locator('#calibration-curve svg').isVisible()).toBe(true);
    expect(await reviewer.locator('#confusion-matrix table').isVisible()).toBe(true);
    expect(await reviewer.locator('#feature-importance svg').isVisible()).toBe(true);
    expect(await reviewer.locator('#validation td.hist svg').count()).toBeGreaterThan(0);

    await reviewer.fill('#comment', 'AUC and calibration look right; approving');
    await Promise.all([reviewer.waitForNavigation(), reviewer.click('button.approve')]);
    await expect(reviewer.locator('.notice').textContent()).resolves.toContain('Approved');
    // The page refreshes itself while the run deploys; reload too, bounded, in case it was still awaiting review.
    for (let attempt = 0; attempt < 150; attempt++) {
      if ((await reviewer.locator('#run-status').textContent())?.trim() === 'deployed') break;
      await new Promise((resolve) => setTimeout(resolve, 400));
      await reviewer.reload();
    }
    expect((await reviewer.locator('#run-status').textContent())?.trim()).toBe('deployed');
    await expect(reviewer.locator('.facts').textContent()).resolves.toContain('AUC and calibration look right');

    // A second run has a champion and a reference: its curves sit beside v1's, its columns beside the reference's.
    const second = await api('POST', '/v1/runs', keys.engineer, { ...demoRunSpec(datasetPath), model });
    const secondId = second.body.id as string;
    await waitForStatus(secondId, 'awaiting_review');
    await reviewer.goto(`${baseUrl}/ui/runs/${secondId}`);
    await expect(reviewer.locator('#roc-curve svg').textContent()).resolves.toContain('champion v1');
    await expect(reviewer.locator('#calibration-curve svg').textContent()).resolves.toContain('champion v1');
    expect(await reviewer.locator('#validation td.hist svg[aria-label="distribution against the reference"]').count()).toBeGreaterThan(0);
    if (screenshotDir) {
      // Down to the validation table (the run spec below it is plain text): keeps the README's image small.
      const spec = await reviewer.locator('section:has(> h2:text-is("Run spec"))').boundingBox();
      await reviewer.screenshot({ path: path.join(screenshotDir, 'review-page.png'), fullPage: true, clip: { x: 0, y: 0, width: 1000, height: spec!.y } });
    }
    // On a phone the page fits its width: wide tables scroll inside their own box, the page itself does not.
    const phone = await browser!.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, storageState: await reviewer.context().storageState() });
    const phonePage = await phone.newPage();
    await phonePage.goto(`${baseUrl}/ui/runs/${secondId}`);
    expect(await phonePage.locator('#roc-curve svg').isVisible()).toBe(true);
    // A string, not a function: the test's TypeScript has no DOM types.
    expect(Number(await phonePage.evaluate('document.documentElement.scrollWidth'))).toBeLessThanOrEqual(390);
    await phone.close();

    await reviewer.fill('#comment', 'no better than v1');
    await Promise.all([reviewer.waitForNavigation(), reviewer.click('button.reject')]);
    await waitForStatus(secondId, 'rejected');

    // The model page shows the version in production and how it got there.
    await reviewer.goto(`${baseUrl}/ui/models/${model}`);
    await expect(reviewer.locator('#production-version').textContent()).resolves.toBe('v1');
    if (screenshotDir) await reviewer.screenshot({ path: path.join(screenshotDir, 'model-page.png'), fullPage: true });

    // The approval went through the API's path: the audit trail names bob.
    const audit = await api('GET', '/v1/audit?action=run.approve', keys.admin);
    const approval = (audit.body.entries as { target: string; actor: string }[]).find((entry) => entry.target === `run:${runId}`);
    expect(approval?.actor).toBe('bob');
  });
});
