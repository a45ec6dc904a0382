// The review page in a real browser on the real stack: Debian's Chromium driven by playwright-core (nothing downloads
// a browser), the API listening on a port, real pipeline and training workers, Postgres, the dev server, and the
// shipped seattle-weather data. The requester sees the form disabled (four eyes); a reviewer signs in with an API key,
// opens the run awaiting review, sees the ROC curve, approves with a comment and watches the run deploy.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoRunSpec } from '../dev/bootstrap.js';
import { monitorWorkflowId } from '../workflows/workflow-ids.js';
import { startKeelStack, type KeelStack } from './support/keel-stack.js';
import { uniqueName } from './support/temporal.js';

const CHROMIUM_CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/lib/chromium/chromium'];
const chromiumPath = CHROMIUM_CANDIDATES.find((candidate) => existsSync(candidate));
if (!chromiumPath) {
  console.warn(`[ui-browser] skipped: no Chromium executable at ${CHROMIUM_CANDIDATES.join(', ')} (apt-get install chromium)`);
}
/** Where the README's screenshots are written when set (e.g. docs/screenshots); otherwise nowhere. */
const screenshotDir = process.env.KEEL_UI_SCREENSHOT_DIR;

let stack: KeelStack;
let browser: Browser | undefined;
/** alice's second key: a reviewer's, so the page disables the form for four eyes, not for her roles. */
let requesterReviewerKey = '';
const model = uniqueName('ui-rain');

async function signIn(apiKey: string, next: string): Promise<Page> {
  const context = await browser!.newContext({ viewport: { width: 1000, height: 900 }, javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto(`${stack.baseUrl}${next}`);
  // No session yet: the page sends us to sign in, and back afterwards.
  expect(new URL(page.url()).pathname).toBe('/ui/login');
  await page.fill('#apiKey', apiKey);
  await Promise.all([page.waitForNavigation(), page.click('button[type=submit]:has-text("Sign in")')]);
  return page;
}

describe.skipIf(!chromiumPath)('the review page in Chromium', () => {
  beforeAll(async () => {
    stack = await startKeelStack({ prefix: 'keel-ui-browser' });
    requesterReviewerKey = await stack.createKey('alice-reviews', ['reviewer'], 'alice');
    browser = await chromium.launch({
      executablePath: chromiumPath,
      // Chromium refuses its sandbox as root (CI containers).
      chromiumSandbox: process.getuid?.() !== 0,
    });
  });

  afterAll(async () => {
    await browser?.close();
    await stack?.temporal.client.workflow.getHandle(monitorWorkflowId(model)).terminate('test cleanup').catch(() => undefined);
    await stack?.close();
  });

  it('the requester sees the form disabled; a reviewer sees the ROC curve, approves with a comment and sees the run deployed', { timeout: 600_000 }, async () => {
    const started = await stack.api('POST', '/v1/runs', stack.keys.engineer, { ...demoRunSpec(stack.datasetPath), model });
    expect(started.status).toBe(201);
    const runId = started.body.id as string;
    await stack.waitForStatus(runId, ['awaiting_review']);

    // alice started the run: even holding a reviewer key she sees the form disabled, and why.
    const requester = await signIn(requesterReviewerKey, `/ui/runs/${runId}`);
    expect(new URL(requester.url()).pathname).toBe(`/ui/runs/${runId}`);
    await expect(requester.locator('#review-disabled-reason').textContent()).resolves.toContain('four eyes');
    expect(await requester.locator('button.approve').isDisabled()).toBe(true);
    expect(await requester.locator('#comment').isDisabled()).toBe(true);

    // bob, a reviewer, finds the run on the list (awaiting review first) and opens it.
    const reviewer = await signIn(stack.keys.reviewer, '/ui/');
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
    const second = await stack.api('POST', '/v1/runs', stack.keys.engineer, { ...demoRunSpec(stack.datasetPath), model });
    const secondId = second.body.id as string;
    await stack.waitForStatus(secondId, ['awaiting_review']);
    await reviewer.goto(`${stack.baseUrl}/ui/runs/${secondId}`);
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
    await phonePage.goto(`${stack.baseUrl}/ui/runs/${secondId}`);
    expect(await phonePage.locator('#roc-curve svg').isVisible()).toBe(true);
    // A string, not a function: the test's TypeScript has no DOM types.
    expect(Number(await phonePage.evaluate('document.documentElement.scrollWidth'))).toBeLessThanOrEqual(390);
    await phone.close();

    await reviewer.fill('#comment', 'no better than v1');
    await Promise.all([reviewer.waitForNavigation(), reviewer.click('button.reject')]);
    await stack.waitForStatus(secondId, ['rejected']);

    // The model page shows the version in production and how it got there.
    await reviewer.goto(`${stack.baseUrl}/ui/models/${model}`);
    await expect(reviewer.locator('#production-version').textContent()).resolves.toBe('v1');
    if (screenshotDir) await reviewer.screenshot({ path: path.join(screenshotDir, 'model-page.png'), fullPage: true });

    // The approval went through the API's path: the audit trail names bob.
    const audit = await stack.api('GET', '/v1/audit?action=run.approve', stack.adminKey);
    const approval = (audit.body.entries as { target: string; actor: string }[]).find((entry) => entry.target === `run:${runId}`);
    expect(approval?.actor).toBe('bob');
  });
});
