// The `keel` command line as a child process (bin/keel.js) against a real API on a port, real workers, Postgres
// and the dev server: login, upload, a run followed live to review, four eyes, review, predict from CSV, --json,
// schedules, keys, audit, training progress while it trains, and the exit codes scripts rely on.
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../api/app.js';
import { loadConfig } from '../config.js';
import { DEMO_DATASET, demoRunSpec } from '../dev/bootstrap.js';
import { monitorWorkflowId } from '../workflows/workflow-ids.js';
import { filesUnder } from './support/files-under.js';
import { startKeelStack, type KeelStack } from './support/keel-stack.js';
import { uniqueName } from './support/temporal.js';

const BIN = path.join(import.meta.dirname, '..', 'bin', 'keel.js');
let stack: KeelStack;
let home: string;
const keys = { engineer: '', reviewer: '', ops: '', predict: '' };
const model = uniqueName('cli-rain');

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `keel …` with only the environment given (and a private HOME), like a user's shell would. */
function keel(args: string[], options: { key?: string; stdin?: string; env?: Record<string, string> } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: home,
        KEEL_URL: stack.baseUrl,
        ...(options.key ? { KEEL_API_KEY: options.key } : {}),
        ...options.env,
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.stdin ?? '');
  });
}

function expectNoStackTrace(result: CliResult): void {
  expect(result.stderr).not.toMatch(/^\s+at /m);
}

async function writeSpec(name: string, spec: unknown): Promise<string> {
  const file = path.join(home, `${name}.json`);
  await fs.writeFile(file, JSON.stringify(spec));
  return file;
}

beforeAll(async () => {
  stack = await startKeelStack({ prefix: 'keel-cli-e2e' });
  home = path.join(stack.scratch, 'home');
  await fs.mkdir(home);
  // alice may review too, so the requester's own review is refused by four eyes, not by her roles.
  keys.engineer = await stack.createKey('alice-key', ['engineer', 'reviewer'], 'alice');
  keys.reviewer = await stack.createKey('bob-key', ['reviewer'], 'bob');
  keys.ops = await stack.createKey('carol-key', ['ops'], 'carol');
  keys.predict = await stack.createKey('scorer-key', ['predict'], 'scorer');
});

afterAll(async () => {
  await stack?.temporal.client.workflow.getHandle(monitorWorkflowId(model)).terminate('test cleanup').catch(() => undefined);
  await stack?.close();
});

describe('keel, the command line', () => {
  it('logs in (0600 file), uploads the data, follows a run to review, refuses the requester, reviews, deploys and predicts from CSV', async () => {
    // login reads the key from stdin, checks it, and stores it readable by the owner only.
    const login = await keel(['login'], { stdin: `${keys.engineer}\n` });
    expect(login.code, login.stderr).toBe(0);
    const credentials = path.join(home, '.config', 'keel', 'credentials');
    expect((await fs.stat(credentials)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await fs.readFile(credentials, 'utf8'))).toEqual({ url: stack.baseUrl, key: keys.engineer });

    // From here the engineer's commands use the stored login (no KEEL_API_KEY).
    const upload = await keel(['datasets', 'upload', DEMO_DATASET, '--json']);
    expect(upload.code, upload.stderr).toBe(0);
    const uploaded = JSON.parse(upload.stdout) as { uri: string; rows: number; sha256: string; columns: unknown[] };
    expect(uploaded).toMatchObject({ rows: 1461 });
    expect(uploaded.columns).toHaveLength(6);
    expect(uploaded.uri.startsWith(stack.config.dataRoots[0]!)).toBe(true);

    // A run from the uploaded uri, followed live until it waits for a reviewer.
    const specFile = await writeSpec('run', { ...demoRunSpec(uploaded.uri), model });
    const started = await keel(['runs', 'start', '-f', specFile, '--wait']);
    expect(started.code, started.stderr).toBe(0);
    expect(started.stdout).toMatch(/^ingest \d/m);
    expect(started.stdout).toMatch(/^train \d/m);
    expect(started.stdout).toMatch(/^evaluate \d/m);
    const runId = /started run (\S+)/.exec(started.stdout)![1]!;
    expect(started.stdout).toContain(`run ${runId} awaits review`);

    const shown = await keel(['runs', 'show', runId, '--json']);
    expect(shown.code, shown.stderr).toBe(0);
    const detail = JSON.parse(shown.stdout) as { status: string; spec: { dataset: { uri: string } }; timings: { stage: string }[] };
    expect(detail.status).toBe('awaiting_review');
    expect(detail.spec.dataset.uri).toBe(uploaded.uri);
    expect(detail.timings.map((timing) => timing.stage)).toEqual(expect.arrayContaining(['ingest', 'validate', 'train', 'evaluate']));

    // Four eyes: the requester's own review is the API's 403, printed as its message, exit code 1.
    const ownReview = await keel(['review', runId, 'approve', '-m', 'mine is fine']);
    expect(ownReview.code).toBe(1);
    expect(ownReview.stderr).toMatch(/REQUESTER_CANNOT_REVIEW, HTTP 403/);
    expectNoStackTrace(ownReview);

    // KEEL_API_KEY overrides the stored login.
    const review = await keel(['review', runId, 'approve', '-m', 'holdout AUC is fine'], { key: keys.reviewer });
    expect(review.code, review.stderr).toBe(0);
    expect(review.stdout).toContain(`approved run ${runId} as bob`);
    const watched = await keel(['runs', 'watch', runId]);
    expect(watched.code, watched.stderr).toBe(0);
    expect(watched.stdout).toContain(`run ${runId} deployed version 1 of ${model}`);

    // Predict from a CSV in the source's shape: fields converted by the version's source column types, batched.
    const csvLines = (await fs.readFile(DEMO_DATASET, 'utf8')).trim().split('\n');
    const rowsFile = path.join(home, 'rows.csv');
    await fs.writeFile(rowsFile, `${csvLines.slice(0, 8).join('\n')}\n`);
    const predicted = await keel(['predict', model, '-f', rowsFile, '--batch-size', '3'], { key: keys.predict });
    expect(predicted.code, predicted.stderr).toBe(0);
    const lines = predicted.stdout.trim().split('\n');
    expect(lines[0]).toBe('row,version,id,label,probability');
    expect(lines).toHaveLength(8);
    expect(lines.slice(1).map((line) => line.split(',')[0])).toEqual(['0', '1', '2', '3', '4', '5', '6']);
    for (const line of lines.slice(1)) {
      const [, version, , label, probability] = line.split(',');
      expect(version).toBe('1');
      expect(['0', '1']).toContain(label);
      expect(Number(probability)).toBeGreaterThanOrEqual(0);
      expect(Number(probability)).toBeLessThanOrEqual(1);
    }
    const asJson = await keel(['predict', model, '-f', rowsFile, '--json'], { key: keys.predict });
    expect(asJson.code, asJson.stderr).toBe(0);
    const predictions = asJson.stdout.trim().split('\n').map((line) => JSON.parse(line) as { row: number; probability: number });
    expect(predictions.map((prediction) => prediction.row)).toEqual([0, 1, 2, 3, 4, 5, 6]);

    const models = await keel(['models', 'show', model, '--json']);
    expect(models.code, models.stderr).toBe(0);
    expect(JSON.parse(models.stdout)).toMatchObject({ name: model, aliases: [{ alias: 'production', version: 1 }] });
    const table = await keel(['models', 'ls']);
    expect(table.stdout).toMatch(new RegExp(`^${model}\\s+binary\\s+rained\\s+1\\s+1\\s+1\\s`, 'm'));

    // A rollback to the version already in production is the API's 409: exit 1 with its message.
    const rollback = await keel(['rollback', model, '1', '-m', 'test'], { key: keys.ops });
    expect(rollback.code).toBe(1);
    expect(rollback.stderr).toMatch(/ALREADY_IN_PRODUCTION, HTTP 409/);
  }, 300_000);

  it('shows training progress from the heartbeat while training, and cancels the run', async () => {
    const spec = {
      ...demoRunSpec(path.relative(stack.config.dataRoots[0]!, await copyDemoData())),
      model: uniqueName('cli-slow'),
      trainer: { kind: 'gbdt', params: { numIterations: 20_000, numLeaves: 31, learningRate: 0.001, minDataInLeaf: 2 } },
    };
    const started = await keel(['runs', 'start', '-f', await writeSpec('slow', spec), '--json'], { key: keys.engineer });
    expect(started.code, started.stderr).toBe(0);
    const runId = (JSON.parse(started.stdout) as { id: string }).id;
    // Bounded poll of the API until the training has reported some trees.
    type Progress = { iteration: number; total: number; unit: string; validMetric: { name: string } };
    let progress: Progress | null = null;
    for (let attempt = 0; attempt < 600 && !progress; attempt++) {
      const response = await fetch(`${stack.baseUrl}/v1/runs/${runId}`, { headers: { authorization: `Bearer ${keys.engineer}` } });
      const body = (await response.json()) as { status: string; progress: Progress | null };
      expect(body.status).toBe('running');
      if (body.progress && body.progress.iteration > 0) progress = body.progress;
      else await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(progress).toMatchObject({ total: 20_000, unit: 'trees', validMetric: { name: 'logloss' } });
    const shown = await keel(['runs', 'show', runId], { key: keys.engineer });
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(/training \d+\/20000 trees/);
    expect(shown.stdout).toMatch(/▸ train/);

    const cancel = await keel(['runs', 'cancel', runId], { key: keys.engineer });
    expect(cancel.code, cancel.stderr).toBe(0);
    // A cancelled run is not a success: watch exits 4.
    const watched = await keel(['runs', 'watch', runId], { key: keys.engineer });
    expect(watched.code).toBe(4);
    expect(watched.stdout).toContain(`run ${runId} cancelled`);
  }, 300_000);

  it('exits 4 when a run started with --wait is rejected by the data, 2 on usage errors, 1 on a 4xx, 3 when the API is unreachable', async () => {
    const oneClass = {
      ...demoRunSpec(path.relative(stack.config.dataRoots[0]!, await copyDemoData())),
      model: uniqueName('cli-one-class'),
      transform: 'SELECT CAST(month("date") AS DOUBLE) AS month, temp_max, temp_min, wind, 1 AS rained FROM source',
    };
    const rejected = await keel(['runs', 'start', '-f', await writeSpec('one-class', oneClass), '--wait', '--json'], { key: keys.engineer });
    expect(rejected.code, rejected.stderr).toBe(4);
    expect(JSON.parse(rejected.stdout)).toMatchObject({ status: 'data_rejected' });

    const missingFile = await keel(['runs', 'start', '-f', path.join(home, 'nope.json')], { key: keys.engineer });
    expect(missingFile.code).toBe(2);
    expect(missingFile.stderr).toMatch(/cannot read .*nope\.json/);
    expect((await keel(['runs', 'frobnicate'], { key: keys.engineer })).code).toBe(2);
    expect((await keel(['review', 'some-run', 'maybe', '-m', 'x'], { key: keys.reviewer })).code).toBe(2);

    const badSpec = await keel(['runs', 'start', '-f', await writeSpec('bad', { model: 'Bad Name' })], { key: keys.engineer });
    expect(badSpec.code).toBe(1);
    expect(badSpec.stderr).toMatch(/HTTP 400/);
    expectNoStackTrace(badSpec);
    const notFound = await keel(['runs', 'show', 'no-such-run', '--json'], { key: keys.engineer });
    expect(notFound.code).toBe(1);
    expect(notFound.stderr).toMatch(/run no-such-run not found \(NOT_FOUND, HTTP 404\)/);

    const unreachable = await keel(['runs', 'ls'], { key: keys.engineer, env: { KEEL_URL: 'http://127.0.0.1:9' } });
    expect(unreachable.code).toBe(3);
    expect(unreachable.stderr).toMatch(/cannot reach the Keel API at http:\/\/127\.0\.0\.1:9/);
    expectNoStackTrace(unreachable);
  }, 300_000);

  it('manages schedules, keys, datasets and the audit trail with tables and --json', async () => {
    const scheduleId = uniqueName('cli-nightly');
    const specFile = await writeSpec('scheduled', { ...demoRunSpec(await copyDemoData()), model: uniqueName('cli-sched') });
    const created = await keel(['schedules', 'create', scheduleId, '--cron', '0 2 * * *', '-f', specFile], { key: keys.engineer });
    expect(created.code, created.stderr).toBe(0);
    const paused = await keel(['schedules', 'pause', scheduleId, '--json'], { key: keys.ops });
    expect(paused.code, paused.stderr).toBe(0);
    expect(JSON.parse(paused.stdout)).toMatchObject({ id: scheduleId, paused: true });
    const listed = await keel(['schedules', 'ls'], { key: keys.engineer });
    expect(listed.stdout).toMatch(new RegExp(`^${scheduleId}\\s.*\\btrue\\b`, 'm'));
    const removed = await keel(['schedules', 'rm', scheduleId], { key: keys.engineer });
    expect(removed.code, removed.stderr).toBe(0);
    // pause is an ops action: the engineer gets the API's 403.
    expect((await keel(['schedules', 'pause', scheduleId], { key: keys.engineer })).code).toBe(1);

    const key = await keel(['keys', 'create', 'ci-bot', '--roles', 'predict', '--user', 'ci', '--json'], { key: stack.adminKey });
    expect(key.code, key.stderr).toBe(0);
    const createdKey = JSON.parse(key.stdout) as { id: string; secret: string; user: string };
    expect(createdKey.user).toBe('ci');
    const keyList = await keel(['keys', 'ls', '--json'], { key: stack.adminKey });
    expect((JSON.parse(keyList.stdout) as { id: string }[]).map((k) => k.id)).toContain(createdKey.id);
    expect(keyList.stdout).not.toContain(createdKey.secret);
    expect((await keel(['keys', 'revoke', createdKey.id], { key: stack.adminKey })).code).toBe(0);
    const revoked = await keel(['models', 'ls'], { key: createdKey.secret });
    expect(revoked.code).toBe(1);
    expect(revoked.stderr).toMatch(/HTTP 401/);

    const datasets = await keel(['datasets', 'ls'], { key: keys.engineer });
    expect(datasets.code, datasets.stderr).toBe(0);
    expect(datasets.stdout).toMatch(/^seattle-weather\.csv\s+1461\s/m);

    const audit = await keel(['audit', '--action', 'dataset.upload', '--json'], { key: keys.ops });
    expect(audit.code, audit.stderr).toBe(0);
    expect((JSON.parse(audit.stdout) as { entries: { actor: string }[] }).entries[0]).toMatchObject({ actor: 'alice' });
    const auditTable = await keel(['audit', '--limit', '5'], { key: keys.ops });
    expect(auditTable.stdout.split('\n')[0]).toMatch(/^ID\s+AT\s+ACTOR\s+ROLE\s+ACTION\s+TARGET$/);
  }, 300_000);
  it('when an upload is over the server limit, then the CLI prints the 413 and exits 1, and nothing is kept', async () => {
    // A second API process on the same database with a 1,000-byte upload limit.
    const small = await buildApp({
      config: loadConfig({ KEEL_DATA_DIR: stack.scratch, DATABASE_URL: stack.database.url, KEEL_UPLOAD_MAX_BYTES: '1000' }),
      db: stack.database.db,
      pool: stack.database.pool,
      logger: false,
    });
    try {
      const url = await small.listen({ host: '127.0.0.1', port: 0 });
      const uploads = path.join(stack.config.dataRoots[0]!, 'uploads');
      const before = await filesUnder(uploads);
      // Read through to the limit (a body just over it), and refused from its Content-Length (a body far over it).
      for (const [name, bytes] of [['just-over.csv', 5_000], ['far-over.csv', 3 * 1024 * 1024]] as const) {
        const file = path.join(home, name);
        await fs.writeFile(file, `id,text\n${'1,abcdefghij\n'.repeat(Math.ceil(bytes / 13))}`);
        const result = await keel(['datasets', 'upload', file], { key: keys.engineer, env: { KEEL_URL: url } });
        expect(result.code, result.stderr).toBe(1);
        expect(result.stderr).toMatch(/over the (upload )?limit of 1000 bytes .*\(PAYLOAD_TOO_LARGE, HTTP 413\)/);
      }
      expect(await filesUnder(uploads)).toEqual(before);
    } finally {
      await small.close();
    }
  }, 300_000);
});

/** The shipped data under the data root (runs that do not go through the upload). */
async function copyDemoData(): Promise<string> {
  const target = path.join(stack.config.dataRoots[0]!, 'seattle-weather.csv');
  await fs.copyFile(DEMO_DATASET, target);
  return target;
}
