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

/** The `review` update's argument: the body plus the reviewer the API authenticated. */
export const ReviewInputSchema = Type.Object({ ...ReviewBodySchema.properties, reviewer: ActorSchema });
export type ReviewInput = Static<typeof ReviewInputSchema>;

/** Every way a review ends; the database's check constraint is generated from this list too. */
export const REVIEW_DECISIONS = ['approve', 'reject', 'expire', 'auto_approve', 'auto_reject'] as const;

/** How a run's review ended: by a person, by the policy, or by the approval timeout. */
export const ReviewResultSchema = Type.Object({
  decision: Type.Union(REVIEW_DECISIONS.map((decision) => Type.Literal(decision))),
  reviewer: Type.String(),
  comment: Type.Optional(Type.String()),
  decidedAt: Type.String(),
});
export type ReviewResult = Static<typeof ReviewResultSchema>;
