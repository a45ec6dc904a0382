// Checks an external trainer's answer before anything downstream trusts it: the answer fits the contract, every
// artifact it names is in the store with bytes that hash to its name, the ONNX loads in onnxruntime and takes the
// run's features and task, and the trainer predicted every holdout row. Each refusal is EXTERNAL_MODEL_REJECTED,
// naming what is wrong, so the run ends `failed` with that reason and nothing is registered.
import { Value } from '@sinclair/typebox/value';
import { ArtifactIntegrityError, ArtifactNotFoundError, type ArtifactStore } from '../artifacts/artifact-store.js';
import { KeelError } from '../errors/keel-error.js';
import { createOnnxScorer, type OnnxScorer } from '../ml/onnx/index.js';
import type { TrainModelResult } from '../workflows/contracts/pipeline-activities.js';
import { ExternalTrainModelResultSchema, type VerifyExternalModelInput } from '../workflows/contracts/training-contract.js';
import { PART_CODES, readHoldoutPredictions, readParts } from './external-training-rows.js';

function rejected(message: string): KeelError {
  return new KeelError('EXTERNAL_MODEL_REJECTED', message);
}

async function readNamed(artifacts: ArtifactStore, sha256: string, what: string): Promise<Buffer> {
  try {
    return await artifacts.read(sha256);
  } catch (error) {
    if (error instanceof ArtifactNotFoundError) throw rejected(`the external trainer's ${what} ${sha256} is not in the artifact store`);
    if (error instanceof ArtifactIntegrityError) {
      throw rejected(`the external trainer's ${what} does not match its sha256: ${sha256} was claimed, its bytes hash to ${error.actualSha256}`);
    }
    throw error;
  }
}

export async function verifyExternalModel(artifacts: ArtifactStore, input: VerifyExternalModelInput): Promise<TrainModelResult> {
  const { prepared } = input;
  if (!Value.Check(ExternalTrainModelResultSchema, input.answer)) {
    const first = Value.Errors(ExternalTrainModelResultSchema, input.answer).First();
    throw rejected(`the external trainer's answer does not fit the training contract: ${first ? `${first.path || '/'} ${first.message}` : 'invalid'}`);
  }
  const answer = input.answer;

  const onnxBytes = await readNamed(artifacts, answer.onnx.sha256, 'ONNX model');
  const modelJsonBytes = await readNamed(artifacts, answer.modelJson.sha256, 'model JSON');
  await readNamed(artifacts, answer.holdoutPredictions.sha256, 'holdout predictions');

  let scorer: OnnxScorer;
  try {
    scorer = await createOnnxScorer(onnxBytes, { intraOpNumThreads: 1 });
  } catch (error) {
    throw rejected(`the external trainer's ONNX model does not load in onnxruntime: ${(error as Error).message}`);
  }
  try {
    checkModelFits(scorer, input);
  } finally {
    await scorer.close();
  }
  checkModelJson(modelJsonBytes);

  for (const [part, claimed, expected] of [
    ['training', answer.trainRows, prepared.trainRows],
    ['validation', answer.validRows, prepared.validRows],
    ['holdout', answer.holdoutRows, prepared.holdoutRows],
  ] as const) {
    if (claimed !== expected) throw rejected(`the external trainer reports ${claimed} ${part} rows; the run's split has ${expected}`);
  }
  await checkHoldoutPredictions(artifacts, input, answer.holdoutPredictions.sha256, scorer.classes?.length ?? 1);

  // putBytes of stored bytes writes nothing and answers the store's own address for them.
  const stored = await artifacts.putBytes(onnxBytes, { extension: '.onnx' });
  return {
    trainer: 'external',
    artifactSha256: stored.sha256,
    artifactUri: stored.uri,
    modelJsonSha256: answer.modelJson.sha256,
    holdoutPredictionsSha256: answer.holdoutPredictions.sha256,
    featureSchema: scorer.features,
    params: {
      ...answer.params,
      externalTrainer: { name: input.trainerName, taskQueue: input.taskQueue, framework: answer.framework },
      ...(prepared.labelClasses === null ? {} : { labelClasses: prepared.labelClasses }),
      // Stored with the version: a later run's evaluation applies it to its holdout to count rows this model trained on.
      split: prepared.split,
    },
    metrics: answer.metrics,
    bestIteration: answer.bestIteration,
    importance: answer.importance,
    trainRows: prepared.trainRows,
    validRows: prepared.validRows,
    holdoutRows: prepared.holdoutRows,
    resumedFromIteration: null,
    ...(prepared.ignoredFeatures.length > 0 ? { ignoredFeatures: prepared.ignoredFeatures } : {}),
  };
}

/** The graph must be the run's model: its task, snapshot, features (names and kinds) and classes. */
function checkModelFits(scorer: OnnxScorer, input: VerifyExternalModelInput): void {
  const { prepared } = input;
  if (scorer.task !== input.task) throw rejected(`the external trainer's ONNX model is a ${scorer.task} model; the run is ${input.task}`);
  const expected = new Map(prepared.features.map((feature) => [feature.name, feature.kind]));
  const got = new Map(scorer.features.map((feature) => [feature.name, feature.kind]));
  const missing = [...expected.keys()].filter((name) => !got.has(name));
  const extra = [...got.keys()].filter((name) => !expected.has(name));
  if (missing.length > 0 || extra.length > 0) {
    throw rejected(
      `the external trainer's ONNX model takes features ${JSON.stringify([...got.keys()])}; the run's are ${JSON.stringify([...expected.keys()])}`,
    );
  }
  for (const [name, kind] of expected) {
    if (got.get(name) !== kind) throw rejected(`the external trainer's ONNX model reads feature "${name}" as ${got.get(name)}; Keel reads it as ${kind}`);
  }
  if (input.task === 'multiclass' && JSON.stringify(scorer.classes ?? []) !== JSON.stringify(prepared.labelClasses ?? [])) {
    throw rejected(
      `the external trainer's ONNX model names classes ${JSON.stringify(scorer.classes ?? [])}; the run's are ${JSON.stringify(prepared.labelClasses ?? [])}`,
    );
  }
}

function checkModelJson(bytes: Buffer): void {
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw rejected(`the external trainer's model JSON is not JSON: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || (parsed as { kind?: unknown }).kind !== 'external') {
    throw rejected('the external trainer\'s model JSON must be an object with "kind": "external"');
  }
}

/** Every holdout row predicted, and nothing else: the parity check compares onnxruntime with these. */
async function checkHoldoutPredictions(artifacts: ArtifactStore, input: VerifyExternalModelInput, sha256: string, width: number): Promise<void> {
  let predictions;
  try {
    predictions = await readHoldoutPredictions(await artifacts.localPath(sha256), width);
  } catch (error) {
    if (error instanceof KeelError && error.code === 'TRAINING_FAILED') throw rejected(error.message);
    throw error;
  }
  const parts = await readParts(await artifacts.localPath(input.prepared.rows.sha256));
  let covered = 0;
  for (const row of predictions.offsetOfRow.keys()) {
    if (parts[row] !== PART_CODES.holdout) throw rejected(`the external trainer's holdout predictions include row ${row}, which is not a holdout row`);
    covered++;
  }
  if (covered !== input.prepared.holdoutRows) {
    throw rejected(`the external trainer predicted ${covered} of the ${input.prepared.holdoutRows} holdout rows`);
  }
}
