// The review update's identity check, run in the update validator (synchronous and deterministic): the reviewer's
// user must be signed by the API with KEEL_SIGNING_KEY over this run, that user and the decision, recently, and must
// not be the requester's user. Someone who reaches Temporal directly (CLI, Web UI) cannot sign, so cannot review.
import { ApplicationFailure } from '@temporalio/workflow';
import type { ErrorCode } from '../errors/error-codes.js';
import { requesterUserOf, type Actor } from './contracts/actor.js';
import {
  REVIEW_SIGNATURE_MAX_AGE_MS,
  REVIEW_SIGNATURE_MAX_SKEW_MS,
  reviewSigningMessage,
  type ReviewInput,
} from './contracts/review.js';
import { FAILURE_TYPES } from './failure-types.js';
import { equalHex, hmacSha256, toHex, utf8Bytes } from './hmac-sha256.js';

export const REVIEW_IDENTITY_INVALID = 'REVIEW_IDENTITY_INVALID' satisfies ErrorCode;

function refuse(message: string): never {
  throw ApplicationFailure.create({ type: REVIEW_IDENTITY_INVALID, message, nonRetryable: true });
}

/** Throws an ApplicationFailure (REVIEW_IDENTITY_INVALID or REQUESTER_CANNOT_REVIEW) unless the review may decide. */
export function checkReviewIdentity(args: {
  review: ReviewInput;
  runId: string;
  requestedBy: Actor;
  /** The workflow's clock (the activation's time), epoch ms. */
  now: number;
  signingKey: string | undefined;
}): void {
  const { review, runId, requestedBy, now, signingKey } = args;
  if (signingKey === undefined) refuse('this worker has no review signing key (KEEL_SIGNING_KEY), so no review can be verified');
  const user = review.reviewer?.user;
  if (typeof user !== 'string' || user.length === 0) refuse('the review names no reviewer user');
  const signature = review.signature;
  if (!signature || typeof signature.hmac !== 'string' || !Number.isSafeInteger(signature.signedAt)) {
    refuse('the review is not signed by the Keel API: send it through POST /v1/runs/:id/review');
  }
  const age = now - signature.signedAt;
  if (age > REVIEW_SIGNATURE_MAX_AGE_MS) refuse(`the review's signature is stale (signed ${Math.round(age / 1000)} s ago)`);
  if (age < -REVIEW_SIGNATURE_MAX_SKEW_MS) refuse("the review's signature is dated in the future");
  const expected = toHex(
    hmacSha256(utf8Bytes(signingKey), utf8Bytes(reviewSigningMessage({ runId, user, decision: review.decision, signedAt: signature.signedAt }))),
  );
  if (!equalHex(expected, signature.hmac.toLowerCase())) refuse("the review's signature does not match its run, reviewer and decision");
  const requesterUser = requesterUserOf(requestedBy);
  if ((requesterUser !== undefined && user === requesterUser) || (review.reviewer.keyId !== null && review.reviewer.keyId === requestedBy.keyId)) {
    throw ApplicationFailure.create({
      type: FAILURE_TYPES.requesterCannotReview,
      message: `${user} started this run and cannot review it (four eyes: another person must)`,
      nonRetryable: true,
    });
  }
}
