// A review of a run awaiting approval: the API's request body, the workflow update's input, and its result.
import { Type, type Static } from '@sinclair/typebox';
import { ActorSchema } from './actor.js';

/** The body of POST /v1/runs/:id/review. */
export const ReviewBodySchema = Type.Object(
  {
    decision: Type.Union([Type.Literal('approve'), Type.Literal('reject')]),
    comment: Type.Optional(Type.String({ maxLength: 5000 })),
  },
  { additionalProperties: false },
);
export type ReviewBody = Static<typeof ReviewBodySchema>;

/** The API's HMAC-SHA256 (KEEL_SIGNING_KEY) over run id, reviewer user, decision and `signedAt` (epoch ms). */
export const ReviewSignatureSchema = Type.Object({ signedAt: Type.Integer(), hmac: Type.String() });
export type ReviewSignature = Static<typeof ReviewSignatureSchema>;

/**
 * The `review` update's argument: the body plus the reviewer the API authenticated, signed by the API.
 * `signature` is optional only because reviews recorded before signing have none; the validator refuses them now.
 */
export const ReviewInputSchema = Type.Object({
  ...ReviewBodySchema.properties,
  reviewer: ActorSchema,
  signature: Type.Optional(ReviewSignatureSchema),
});
export type ReviewInput = Static<typeof ReviewInputSchema>;

/** Every way a review ends; the database's check constraint is generated from this list too. */
export const REVIEW_DECISIONS = ['approve', 'reject', 'expire', 'auto_approve', 'auto_reject'] as const;

/** How a run's review ended: by a person, by the policy, or by the approval timeout. */
export const ReviewResultSchema = Type.Object({
  decision: Type.Union(REVIEW_DECISIONS.map((decision) => Type.Literal(decision))),
  reviewer: Type.String(),
  comment: Type.Optional(Type.String()),
  decidedAt: Type.String(),
  /** The model approval policy version that decided an automatic review. */
  policyVersion: Type.Optional(Type.Integer()),
});
export type ReviewResult = Static<typeof ReviewResultSchema>;

/** What the API signs and the workflow verifies; a JSON list, so no field can run into the next. */
export function reviewSigningMessage(fields: { runId: string; user: string; decision: string; signedAt: number }): string {
  return JSON.stringify(['keel-review-v1', fields.runId, fields.user, fields.decision, fields.signedAt]);
}

/** A signature older than this (by the workflow's clock) is refused as stale: a captured review cannot be replayed later. */
export const REVIEW_SIGNATURE_MAX_AGE_MS = 5 * 60_000;
/** Clock skew tolerated between the API and the workflow's clock for a signature from the future. */
export const REVIEW_SIGNATURE_MAX_SKEW_MS = 60_000;
