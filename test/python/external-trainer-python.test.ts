// A run with the reference Python trainer worker (trainers/python/, a real `temporalio` worker process) on the
// shipped demo data: its LightGBM model reaches review with onnxruntime reproducing LightGBM within 1e-5, and a
// trainer it does not know ends the run failed with its refusal. Needs `npm run setup:python`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoRunSpec } from '../../dev/bootstrap.js';
import { startProcess, type ManagedProcess } from '../../dev/child-process.js';
import { PYTHON_TRAINER_PYTHON, pythonTrainerInstalled, pythonTrainerProcess } from '../../dev/python-trainer.js';
import { startKeelStack, type KeelStack } from '../support/keel-stack.js';
import { uniqueName } from '../support/temporal.js';

let stack: KeelStack;
let worker: ManagedProcess | undefined;
const taskQueue = uniqueName('trainers-python');
const output: string[] = [];

beforeAll(async () => {
  // A missing environment is a failure here, not a skip: this suite exists to prove the Python path.
  if (!pythonTrainerInstalled()) throw new Error(`${PYTHON_TRAINER_PYTHON} is missing: run \`npm run setup:python\` first`);
  stack = await startKeelStack({ prefix: 'keel-python-trainer' });
  const command = pythonTrainerProcess({
    temporalAddress: stack.temporal.address,
    namespace: 'default',
    artifactDir: stack.config.artifactDir,
    env: { ...process.env, KEEL_TRAINER_TASK_QUEUE: taskQueue, LOG_LEVEL: 'WARNING' },
  });
  worker = startProcess('trainers-python', command.command, command.args, {
    cwd: command.cwd,
    env: command.env,
    onOutput: (line) => output.push(line),
  });
}, 300_000);

afterAll(async () => {
  await worker?.stop({ graceMs: 5_000 });
  await stack?.close();
});

async function run(trainer: Record<string, unknown>) {
  const spec = { ...demoRunSpec(stack.datasetPath), model: uniqueName('rain-python'), trainer: { kind: 'external', taskQueue, ...trainer } };
  const started = await stack.api('POST', '/v1/runs', stack.keys.engineer, spec);
  expect(started.status).toBe(201);
  return started.body.id as string;
}

describe('the reference Python trainer worker', () => {
  it('trains LightGBM on the demo data; the run reaches review with parity within 1e-5', async () => {
    const runId = await run({ name: 'lightgbm', params: { n_estimators: 60, num_leaves: 15 } });
    const waiting = await stack.waitForStatus(runId, ['awaiting_review'], 3_000).catch((error: unknown) => {
      throw new Error(`${(error as Error).message}\nPython worker output:\n${output.slice(-30).join('\n')}`);
    });
    const result = waiting.evaluation.report.result;
    expect(result.parity.passed).toBe(true);
    expect(result.parity.maxAbsDiff).toBeLessThanOrEqual(1e-5);
    expect(result.parity.rows).toBeGreaterThan(100);
    expect(waiting.evaluation.report.servingParity.maxAbsDiff).toBeLessThanOrEqual(1e-5);
    expect(result.candidateMetrics.auc).toBeGreaterThan(0.6);
    expect(waiting.version).toMatchObject({ version: 1, status: 'pending_approval' });
    // Printed for the record (not asserted beyond the bounds above).
    process.stdout.write(
      `external LightGBM: parity max |diff| ${result.parity.maxAbsDiff} on ${result.parity.rows} holdout rows, serving parity ${waiting.evaluation.report.servingParity.maxAbsDiff}, AUC ${result.candidateMetrics.auc}\n`,
    );
  });

  it('refuses a trainer it does not have: the run ends failed with its reason', async () => {
    const runId = await run({ name: 'catboost' });
    const ended = await stack.waitForStatus(runId, ['failed'], 3_000);
    expect(ended.reason).toMatch(/external trainer "catboost" on task queue "[^"]+" failed: TRAINING_FAILED: unknown trainer 'catboost'/);
  });
});
