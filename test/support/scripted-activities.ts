// Scripted pipeline activities for workflow tests: the workflow is the unit under test here; the real
// activities have their own tests and run together with it in the end-to-end test.
import { ApplicationFailure, Context } from '@temporalio/activity';
import type {
  DecideAutoApprovalInput,
  EvaluateModelResult,
  PipelineActivities,
  RecordReviewDecisionInput,
  RecordRunProgressInput,
  RegisterScheduledRunInput,
  TrainModelResult,
} from '../../workflows/contracts/pipeline-activities.js';
import { FAILURE_TYPES } from '../../workflows/failure-types.js';
import { decideByPolicy, type ApprovalPolicy } from '../../registry/auto-approval.js';

export interface Script {
  validationFails?: boolean;
  gatesPass?: boolean;
  challengerNoWorse?: boolean;
  smokeFails?: boolean;
  /** onnxruntime disagrees with the trainer on the holdout: the run ends failed before registering. */
  parityFails?: boolean;
  /** Training heartbeats until cancelled instead of finishing. */
  trainingHangs?: boolean;
  /** Deploy waits (not heartbeating) until the test calls `recorder.releaseDeploy()`. */
  deployHolds?: boolean;
  /** Recording a review decision waits until the test calls `recorder.releaseReviewDecision()`. */
  reviewDecisionHolds?: boolean;
  /** The first N attempts of evaluate fail with a plain (retryable) error, as during a database outage. */
  evaluateOutageAttempts?: number;
  /** The model's approval policy as ops set it (absent: none, a person reviews). */
  approvalPolicy?: ApprovalPolicy;
  /** The model's production version when the policy decides (default none). */
  productionVersion?: number | null;
}

export interface Recorder {
  progress: RecordRunProgressInput[];
  scheduledRuns: RegisterScheduledRunInput[];
  decisions: RecordReviewDecisionInput[];
  autoApprovalRequests: DecideAutoApprovalInput[];
  deployed: number[];
  monitorNotified: number[];
  trainingCancelled: boolean;
  trainingStarted: Promise<void>;
  deployStarted: Promise<void>;
  releaseDeploy: () => void;
  reviewDecisionStarted: Promise<void>;
  releaseReviewDecision: () => void;
  evaluateAttempts: number;
  withdrawn: { runId: string; reason: string }[];
}

/** A promise and the function that resolves it. */
function latch(): { promise: Promise<void>; open: () => void } {
  let open: () => void = () => undefined;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

export function createScriptedActivities(script: Script): { activities: PipelineActivities; recorder: Recorder } {
  let markTrainingStarted: () => void = () => undefined;
  const deployStarted = latch();
  const deployReleased = latch();
  const reviewDecisionStarted = latch();
  const reviewDecisionReleased = latch();
  const recorder: Recorder = {
    progress: [],
    scheduledRuns: [],
    decisions: [],
    autoApprovalRequests: [],
    deployed: [],
    monitorNotified: [],
    trainingCancelled: false,
    trainingStarted: new Promise<void>((resolve) => (markTrainingStarted = resolve)),
    deployStarted: deployStarted.promise,
    releaseDeploy: deployReleased.open,
    reviewDecisionStarted: reviewDecisionStarted.promise,
    releaseReviewDecision: reviewDecisionReleased.open,
    evaluateAttempts: 0,
    withdrawn: [],
  };
  const training: TrainModelResult = {
    trainer: 'gbdt',
    artifactSha256: 'a'.repeat(64),
    artifactUri: 'file:///artifacts/a',
    modelJsonSha256: 'b'.repeat(64),
    featureSchema: [{ name: 'x', kind: 'numeric' }],
    params: { numTrees: 10 },
    metrics: { trainLogloss: 0.4 },
    bestIteration: 10,
    importance: { x: 1 },
    trainRows: 70,
    validRows: 10,
    holdoutRows: 20,
    resumedFromIteration: null,
    stageTimings: { loadMs: 50, splitMs: 30, trainMs: 400, metricsMs: 20, exportMs: 10, storeMs: 10 },
  };
  const evaluation = (): EvaluateModelResult => ({
    reportId: 'evaluation-report',
    candidateMetrics: { auc: 0.9 },
    champion: null,
    deltas: {},
    parity: script.parityFails ? { passed: false, maxAbsDiff: 0.25, rows: 20 } : { passed: true, maxAbsDiff: 1e-7, rows: 20 },
    gatesPassed: script.gatesPass ?? true,
    failedGates: script.gatesPass === false ? ['auc 0.9 < min 0.95'] : [],
    challengerNoWorse: script.challengerNoWorse ?? true,
  });
  const activities: PipelineActivities = {
    async snapshotDataset() {
      return { snapshotId: 's1', sha256: 'c'.repeat(64), uri: 'file:///snap', rowCount: 100, columns: [{ name: 'x', type: 'DOUBLE' }] };
    },
    async validateDataset() {
      if (script.validationFails) {
        throw ApplicationFailure.create({
          type: FAILURE_TYPES.dataRejected,
          nonRetryable: true,
          message: 'column x: null rate 0.4 exceeds 0.1',
          details: [{ reportId: 'validation-report' }],
        });
      }
      return { reportId: 'validation-report', passed: true, summary: 'all checks passed', referenceSha256: null };
    },
    async trainModel() {
      markTrainingStarted();
      if (script.trainingHangs) {
        const context = Context.current();
        try {
          for (;;) {
            context.heartbeat({ iteration: 1 });
            await context.sleep(100);
          }
        } catch (error) {
          recorder.trainingCancelled = true;
          throw error;
        }
      }
      return training;
    },
    // External trainers have their own test (test/external-trainer.test.ts) with the real activities.
    async prepareExternalTraining() {
      throw ApplicationFailure.create({ message: 'external trainers are not scripted', nonRetryable: true });
    },
    async verifyExternalModel() {
      throw ApplicationFailure.create({ message: 'external trainers are not scripted', nonRetryable: true });
    },
    async evaluateModel() {
      recorder.evaluateAttempts += 1;
      if (recorder.evaluateAttempts <= (script.evaluateOutageAttempts ?? 0)) {
        throw new Error('connect ECONNREFUSED 127.0.0.1:5433 (Postgres is restarting)');
      }
      return evaluation();
    },
    async registerModelVersion() {
      return { modelVersionId: 'mv1', version: 1 };
    },
    async decideAutoApproval(input) {
      recorder.autoApprovalRequests.push(input);
      // The real decision over the scripted policy (the real activity reads it and the production version from Postgres).
      return decideByPolicy(script.approvalPolicy, input.evaluation, script.productionVersion ?? null);
    },
    async recordReviewDecision(input) {
      reviewDecisionStarted.open();
      if (script.reviewDecisionHolds) await reviewDecisionReleased.promise;
      recorder.decisions.push(input);
    },
    async deployModelVersion(input) {
      deployStarted.open();
      if (script.deployHolds) await deployReleased.promise;
      if (script.smokeFails) {
        throw ApplicationFailure.create({
          type: FAILURE_TYPES.smokeTestFailed,
          nonRetryable: true,
          message: 'smoke prediction failed: model could not be loaded',
        });
      }
      recorder.deployed.push(input.version);
      return { previousVersion: null, smoke: { prediction: { probability: 0.7 }, latencyMs: 2 } };
    },
    async notifyMonitor(input) {
      recorder.monitorNotified.push(input.version);
    },
    async withdrawPendingVersion(input) {
      recorder.withdrawn.push({ runId: input.runId, reason: input.reason });
    },
    async recordRunProgress(input) {
      recorder.progress.push(input);
    },
    async registerScheduledRun(input) {
      recorder.scheduledRuns.push(input);
    },
  };
  return { activities, recorder };
}
