// The API signs the reviewer's identity into the review update; the workflow's validator verifies it with the same
// key (workflows/review-identity.ts), so a review sent straight to Temporal (CLI, Web UI) cannot pass as anyone.
import { createHmac } from 'node:crypto';
import { reviewSigningMessage, type ReviewSignature } from '../../workflows/contracts/review.js';

export function signReview(
  signingKey: string,
  fields: { runId: string; user: string; decision: 'approve' | 'reject'; signedAt: number },
): ReviewSignature {
  const hmac = createHmac('sha256', signingKey).update(reviewSigningMessage(fields), 'utf8').digest('hex');
  return { signedAt: fields.signedAt, hmac };
}
