// The approval gate: accepts the `review` update (signed by the API, four eyes per person, only while awaiting
// review) and waits for a decision, the model approval policy's automatic decision, or the approval timeout. The first of a review being accepted, the timer
// firing, or the run being cancelled closes the gate for good: every later review is refused (the API answers 409).
import { ApplicationFailure, condition, patched, setHandler } from '@temporalio/workflow';
import type { Duration } from '@temporalio/common';
import type { Actor } from './contracts/actor.js';
import type { DecideAutoApprovalInput, DecideAutoApprovalResult, EvaluateModelResult } from './contracts/pipeline-activities.js';
import type { Policy } from './contracts/run-spec.js';
import { FAILURE_TYPES } from './failure-types.js';
import type { ReviewInput, ReviewResult } from './contracts/review.js';
import { PIPELINE_PATCHES } from './pipeline-patches.js';
import { reviewUpdate } from './pipeline-messages.js';
import { checkReviewIdentity } from './review-identity.js';
import { bundledSigningKey } from './signing-key.js';
import type { StageTracker } from './stage-tracker.js';

export const DEFAULT_APPROVAL_TIMEOUT = '72h';

export interface ReviewGate {
  /** Enters `awaiting_review` and returns the decision that ends it. */
  decide(evaluation: EvaluateModelResult): Promise<ReviewResult>;
  /** The key of the person who decided (null for the policy, the timeout, or no decision yet). */
  reviewerKeyId(): string | null;
}

export function openReviewGate(args: {
  runId: string;
  model: string;
  requestedBy: Actor;
  /** The run spec's policy: its approval timeout; its `autoApprove` only on the legacy path of older runs. */
  policy?: Policy;
  stages: StageTracker;
  decideAutoApproval: (input: DecideAutoApprovalInput) => Promise<DecideAutoApprovalResult>;
}): ReviewGate {
  const { runId, model, requestedBy, policy, stages } = args;
  let pendingReview: ReviewResult | undefined;
  let reviewerKeyId: string | null = null;
  /** Why the gate no longer takes reviews; set in the same activation as the event that closed it. */
  let closedBecause: string | undefined;

  setHandler(
    reviewUpdate,
    (review: ReviewInput): ReviewResult => {
      pendingReview = {
        decision: review.decision,
        // The person; reviews recorded before keys had users name the key.
        reviewer: review.reviewer.user ?? review.reviewer.name,
        comment: review.comment,
        decidedAt: new Date().toISOString(),
      };
      reviewerKeyId = review.reviewer.keyId;
      closedBecause ??= `it was already decided: ${review.decision} by ${pendingReview.reviewer}`;
      return pendingReview;
    },
    {
      // Rejected updates leave no trace in history.
      validator: (review: ReviewInput) => {
        const { stage, status } = stages.state;
        if (closedBecause !== undefined) {
          throw ApplicationFailure.create({
            type: FAILURE_TYPES.notAwaitingReview,
            message: `run ${runId} no longer takes reviews: ${closedBecause}`,
          });
        }
        if (stage !== 'awaiting_review' || status !== 'awaiting_review' || pendingReview !== undefined) {
          throw ApplicationFailure.create({
            type: FAILURE_TYPES.notAwaitingReview,
            message: `run ${runId} is not awaiting review (stage ${stage}, status ${status})`,
          });
        }
        if (review.decision !== 'approve' && review.decision !== 'reject') {
          throw ApplicationFailure.create({ type: FAILURE_TYPES.invalidSpec, message: 'decision must be approve or reject' });
        }
        // Validators run only for live updates, never on replay: the check may change without patched().
        checkReviewIdentity({ review, runId, requestedBy, now: Date.now(), signingKey: bundledSigningKey() });
      },
    },
  );

  return {
    reviewerKeyId: () => reviewerKeyId,
    async decide(evaluation) {
      if (patched(PIPELINE_PATCHES.modelApprovalPolicy)) {
        // The model's approval policy (set by ops) decides, never the run spec; it names its version in the result.
        const automatic = await args.decideAutoApproval({
          runId,
          model,
          evaluation: {
            candidateMetrics: evaluation.candidateMetrics,
            champion: evaluation.champion,
            failedGates: evaluation.failedGates,
            challengerNoWorse: evaluation.challengerNoWorse,
            ...(evaluation.comparison ? { comparison: { status: evaluation.comparison.status, reason: evaluation.comparison.reason } } : {}),
          },
        });
        if (automatic.decision !== 'review' && automatic.policyVersion !== null) {
          await stages.enter('awaiting_review');
          return {
            decision: automatic.decision,
            reviewer: `policy:${model}@v${automatic.policyVersion}`,
            comment: automatic.comment,
            decidedAt: new Date().toISOString(),
            policyVersion: automatic.policyVersion,
          };
        }
        return awaitReview();
      }
      // Legacy (runs started before PIPELINE_PATCHES.modelApprovalPolicy): the run spec's `autoApprove`.
      // A biased champion comparison cannot decide either way: a person reviews it (reasons in the report).
      if (policy?.autoApprove && evaluation.comparison?.status !== 'biased') {
        await stages.enter('awaiting_review');
        const reasons = [...evaluation.failedGates];
        if (evaluation.challengerNoWorse === false) reasons.push('challenger is worse than the champion');
        return {
          decision: reasons.length === 0 ? 'auto_approve' : 'auto_reject',
          reviewer: 'policy:autoApprove',
          comment:
            reasons.length === 0
              ? 'every gate passed and the challenger is no worse than the champion'
              : `auto-approval refused: ${reasons.join('; ')}`,
          decidedAt: new Date().toISOString(),
        };
      }
      return awaitReview();
    },
  };

  /** Waits for a person's review, the approval timeout, or a cancel; the first of them closes the gate. */
  async function awaitReview(): Promise<ReviewResult> {
    await stages.enter('awaiting_review', 'awaiting_review');
    const timeout = policy?.approvalTimeout ?? DEFAULT_APPROVAL_TIMEOUT;
    let decided: boolean;
    try {
      decided = await condition(() => pendingReview !== undefined, timeout as Duration);
    } catch (error) {
      closedBecause ??= 'the run was cancelled while awaiting review';
      throw error;
    }
    closedBecause ??= `the approval timeout (${String(timeout)}) passed and the run expired`;
    // A review accepted in the activation where the timer fired was answered "accepted": it decides the run.
    if (pendingReview && (decided || patched(PIPELINE_PATCHES.reviewDecidedOnce))) return pendingReview;
    return { decision: 'expire', reviewer: 'system', comment: 'approval timed out', decidedAt: new Date().toISOString() };
  }
}
