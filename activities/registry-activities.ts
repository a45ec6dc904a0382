// Registry activities: thin adapters over registry/ (register a version, record the review, deploy with a smoke
// test) and the run row's progress.
import type { ArtifactStore } from '../artifacts/artifact-store.js';
import type { Db } from '../db/client.js';
import { updateRunProgress } from '../db/repositories/runs.js';
import { withFailureMapping } from '../errors/to-application-failure.js';
import { recordMonitoringReference } from '../monitoring/record-reference.js';
import { deployVersion, type DeployDeps, type DeployLogger } from '../registry/deploy-version.js';
import { registerVersion } from '../registry/register-version.js';
import { decideAutoApproval } from '../registry/auto-approval.js';
import { recordReviewDecision } from '../registry/review-decision.js';
import { withdrawPendingVersion } from '../registry/withdraw-version.js';
import type { ModelCache } from '../serving/model-cache.js';
import type { DecideAutoApprovalInput, DecideAutoApprovalResult, DeployModelVersionInput, DeployModelVersionResult, PipelineActivities, RecordReviewDecisionInput, RecordRunProgressInput, RegisterModelVersionInput, RegisterModelVersionResult, WithdrawPendingVersionInput } from '../workflows/contracts/pipeline-activities.js';
import { keepHeartbeating } from './heartbeat.js';

export interface RegistryActivityDeps {
  db: Db;
  /** The serving cache the deploy's smoke prediction goes through; its creator closes it. */
  modelCache: ModelCache;
  logger: DeployLogger;
  /** The register step reads the training snapshot and model from it to store the version's drift reference. */
  artifacts?: ArtifactStore;
  clock?: () => Date;
  notifyProductionChange?: DeployDeps['notifyProductionChange'];
}

export function createRegistryActivities(deps: RegistryActivityDeps) {
  const { db } = deps;
  const clock = deps.clock ?? (() => new Date());
  return {
    async registerModelVersion(input: RegisterModelVersionInput): Promise<RegisterModelVersionResult> {
      const { artifacts } = deps;
      return withFailureMapping(() =>
        registerVersion(db, input, async ({ model, version }) => {
          if (!artifacts) return;
          const stopHeartbeats = keepHeartbeating(`drift reference of version ${version.version} of ${input.model}`);
          try {
            await recordMonitoringReference({ db, artifacts, logger: deps.logger }, {
              modelVersionId: version.id,
              modelId: model.id,
              version: version.version,
              snapshotSha256: input.snapshotSha256,
              featureSchema: input.training.featureSchema,
              modelJsonSha256: input.training.modelJsonSha256,
              artifactSha256: input.training.artifactSha256,
            });
          } finally {
            stopHeartbeats();
          }
        }),
      );
    },

    async decideAutoApproval(input: DecideAutoApprovalInput): Promise<DecideAutoApprovalResult> {
      return withFailureMapping(() => decideAutoApproval(db, input));
    },
    async recordReviewDecision(input: RecordReviewDecisionInput): Promise<void> {
      return withFailureMapping(() => recordReviewDecision(db, input));
    },

    async deployModelVersion(input: DeployModelVersionInput): Promise<DeployModelVersionResult> {
      const stopHeartbeats = keepHeartbeating(`deploying version ${input.version} of ${input.model}`);
      try {
        return await withFailureMapping(() => deployVersion(deps, input));
      } finally {
        stopHeartbeats();
      }
    },

    async withdrawPendingVersion(input: WithdrawPendingVersionInput): Promise<void> {
      await withFailureMapping(() => withdrawPendingVersion(db, input));
    },

    async recordRunProgress(input: RecordRunProgressInput): Promise<void> {
      await updateRunProgress(db, input, clock());
    },
  } satisfies Pick<PipelineActivities, 'registerModelVersion' | 'decideAutoApproval' | 'recordReviewDecision' | 'deployModelVersion' | 'withdrawPendingVersion' | 'recordRunProgress'>;
}

export type RegistryActivities = ReturnType<typeof createRegistryActivities>;
