// KEEL_PAYLOAD_KEY against the real dev server: a pipeline run whose client and workers encrypt payloads completes,
// answers queries and takes a signed review, while its history, read by a client without the key, holds no spec.
import { randomBytes, randomUUID } from 'node:crypto';
import { Client } from '@temporalio/client';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signReview } from '../api/runs/review-signature.js';
import { loadConfig } from '../config.js';
import { ENCRYPTED_ENCODING, keelDataConverter } from '../temporal/payload-encryption-codec.js';
import { bundleKeelWorkflows } from '../workers/workflow-bundle.js';
import type { PipelineInput } from '../workflows/contracts/pipeline-input.js';
import { reviewUpdate, statusQuery } from '../workflows/pipeline-messages.js';
import type { pipeline } from '../workflows/pipeline.js';
import { pipelineWorkflowId } from '../workflows/workflow-ids.js';
import { createScriptedActivities } from './support/scripted-activities.js';
import { connectTestTemporal, uniqueName, type TestTemporal } from './support/temporal.js';

const SIGNING_KEY = `payload-test-signing-key-${randomUUID()}`;
// What must never be readable in Temporal's store: a dataset URL with a token, the feature SQL.
const SECRET_TOKEN = `tok-${randomUUID()}`;
const FEATURE_SQL = `SELECT amount * 7 AS secret_feature_${randomUUID().slice(0, 8)} FROM source`;

let temporal: TestTemporal;
let bundle: WorkflowBundleWithSourceMap;

beforeAll(async () => {
  [temporal, bundle] = await Promise.all([connectTestTemporal(), bundleKeelWorkflows(SIGNING_KEY)]);
});

afterAll(async () => {
  await temporal?.close();
});

/**
 * Every payload in a history that carries Keel's data (inputs, results, updates, queries' answers, memos, failures'
 * details), with where it sits. Left out, by design: search attributes (KeelModel, KeelStage: Temporal must read
 * them to filter) and the SDK's own marker bookkeeping (patch ids, a local activity's sequence number and times).
 */
function dataPayloadsIn(value: unknown, where: string[] = [], found: { where: string; payload: Payload }[] = []) {
  if (value === null || typeof value !== 'object' || value instanceof Uint8Array) return found;
  const bookkeeping =
    where.some((key) => /searchAttributes$/i.test(key)) ||
    (where.includes('markerRecordedEventAttributes') && ['patch-data', 'data'].includes(where.at(-1) ?? ''));
  if (bookkeeping) return found;
  const candidate = value as Payload;
  if (candidate.data instanceof Uint8Array && candidate.metadata && typeof candidate.metadata === 'object') {
    found.push({ where: where.join('.'), payload: candidate });
  }
  for (const [key, child] of Object.entries(value)) dataPayloadsIn(child, [...where, key], found);
  return found;
}

/** Every string and byte array in a proto object, as text (not via toJSON, which would turn bytes into base64). */
function textOf(value: unknown): string {
  if (value instanceof Uint8Array) return Buffer.from(value).toString('latin1');
  if (typeof value === 'string') return value;
  if (value === null || typeof value !== 'object') return '';
  return Object.values(value).map(textOf).join('\n');
}

describe('payload encryption (KEEL_PAYLOAD_KEY)', () => {
  it('when client and workers share the key, then a run completes and its history shows Temporal only ciphertext', async () => {
    const config = loadConfig({ KEEL_PAYLOAD_KEY: randomBytes(32).toString('base64') });
    const dataConverter = keelDataConverter(config);
    const client = new Client({ connection: temporal.connection, namespace: 'default', dataConverter });
    const { activities } = createScriptedActivities({ gatesPass: true });
    const taskQueue = uniqueName('pipeline-encrypted');
    const trainingTaskQueue = uniqueName('training-encrypted');
    const [pipelineWorker, trainingWorker] = await Promise.all([
      Worker.create({ connection: temporal.workerConnection, taskQueue, workflowBundle: bundle, activities, dataConverter }),
      Worker.create({ connection: temporal.workerConnection, taskQueue: trainingTaskQueue, activities, dataConverter }),
    ]);
    const runId = uniqueName('encrypted');
    const input: PipelineInput = {
      runId,
      spec: {
        model: 'payments',
        dataset: { uri: `https://data.example/payments.csv?token=${SECRET_TOKEN}` },
        transform: FEATURE_SQL,
        target: 'fraud',
        task: 'binary',
      },
      requestedBy: { keyId: randomUUID(), name: 'engineer-alice', user: 'alice' },
      trainingTaskQueue,
    };
    const handle = await client.workflow.start<typeof pipeline>('pipeline', {
      taskQueue,
      workflowId: pipelineWorkflowId('payments', runId),
      args: [input],
    });

    const result = await pipelineWorker.runUntil(
      trainingWorker.runUntil(async () => {
        // Queries and the review update go through the codec both ways.
        // Bounded poll; a query may fail while the freshly started worker has not polled yet.
        let stage: string | undefined;
        for (let attempt = 0; stage !== 'awaiting_review' && attempt < 1200; attempt++) {
          stage = await handle.query(statusQuery).then((status) => status.stage, () => undefined);
          if (stage !== 'awaiting_review') await new Promise((resolve) => setTimeout(resolve, 100));
        }
        expect(stage).toBe('awaiting_review');
        const reviewer = { keyId: randomUUID(), name: 'reviewer-bob', user: 'bob' };
        await handle.executeUpdate(reviewUpdate, {
          args: [{ decision: 'approve', reviewer, signature: signReview(SIGNING_KEY, { runId, user: 'bob', decision: 'approve', signedAt: Date.now() }) }],
        });
        const finished = await handle.result();
        // A closed run still answers its status query through the codec.
        expect((await handle.query(statusQuery)).status).toBe('deployed');
        return finished;
      }),
    );
    expect(result.status).toBe('deployed');

    // Read as Temporal's store, its UI or anyone with plain access would: a client with no codec.
    const history = await temporal.client.workflow.getHandle(handle.workflowId).fetchHistory();
    const found = dataPayloadsIn(history);
    const payloads = found.map(({ payload }) => payload);
    expect(payloads.length).toBeGreaterThan(10);
    // Everything, bookkeeping included, is free of the spec's secrets.
    const raw = textOf(history);
    expect(raw).not.toContain(SECRET_TOKEN);
    expect(raw).not.toContain(FEATURE_SQL);
    expect(raw).not.toContain('engineer-alice');
    const unencrypted = found.filter(({ payload }) => Buffer.from(payload.metadata!.encoding!).toString() !== ENCRYPTED_ENCODING);
    expect(unencrypted.map(({ where }) => where)).toEqual([]);
    // And without the key the run's input cannot even be read back.
    const plainInput = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
    expect(() => defaultPayloadConverter.fromPayload(plainInput!)).toThrow();

    // Control: the same history decrypted with the key does hold the spec (the check above looked in the right place).
    const opened = await dataConverter!.payloadCodecs![0]!.decode([plainInput!]);
    expect((defaultPayloadConverter.fromPayload<PipelineInput>(opened[0]!)).spec.dataset).toEqual(input.spec.dataset);
  }, 240_000);
});
