// The review validator's identity check: only a review the API signed, recently, for this run and decision, by a
// user other than the requester's, passes; every bypass below is refused.
import { describe, expect, it } from 'vitest';
import { signReview } from '../api/runs/review-signature.js';
import type { ReviewInput } from './contracts/review.js';
import { checkReviewIdentity } from './review-identity.js';

const key = 'k'.repeat(40);
const now = 1_800_000_000_000;
const runId = 'r-1';
const requestedBy = { keyId: 'key-alice-engineer', name: 'alice-engineer', user: 'alice' };
const bob = { keyId: 'key-bob', name: 'bob-reviewer', user: 'bob' };

function signed(overrides: { user?: string; decision?: 'approve' | 'reject'; signedAt?: number; runId?: string; key?: string } = {}): ReviewInput {
  const user = overrides.user ?? 'bob';
  const decision = overrides.decision ?? 'approve';
  const signature = signReview(overrides.key ?? key, { runId: overrides.runId ?? runId, user, decision, signedAt: overrides.signedAt ?? now - 1_000 });
  return { decision, reviewer: { ...bob, user }, signature };
}

function refusal(review: ReviewInput, options: { signingKey?: string; requester?: typeof requestedBy | { keyId: null; name: string } } = {}) {
  try {
    checkReviewIdentity({ review, runId, requestedBy: options.requester ?? requestedBy, now, signingKey: 'signingKey' in options ? options.signingKey : key });
    return undefined;
  } catch (error) {
    const failure = error as { type?: string; message: string };
    return { type: failure.type, message: failure.message };
  }
}

describe('review identity check (update validator)', () => {
  it('accepts a fresh review the API signed for this run, by another person', () => {
    expect(refusal(signed())).toBeUndefined();
  });

  it('refuses an unsigned review, as the Temporal CLI or Web UI would send it', () => {
    const { signature: _omitted, ...unsigned } = signed();
    expect(refusal(unsigned)).toMatchObject({ type: 'REVIEW_IDENTITY_INVALID', message: expect.stringContaining('not signed') });
  });

  it('refuses a forged signature, one made with another key, and one whose decision or user was changed', () => {
    const forged = { ...signed(), signature: { signedAt: now - 1_000, hmac: 'ab'.repeat(32) } };
    expect(refusal(forged)?.type).toBe('REVIEW_IDENTITY_INVALID');
    expect(refusal(signed({ key: 'x'.repeat(40) }))?.type).toBe('REVIEW_IDENTITY_INVALID');
    expect(refusal({ ...signed({ decision: 'reject' }), decision: 'approve' })?.message).toContain('does not match');
    expect(refusal({ ...signed(), reviewer: { ...bob, user: 'mallory' } })?.message).toContain('does not match');
  });

  it("refuses a signature replayed from another run, and a stale one (older than five minutes by the workflow's clock)", () => {
    expect(refusal(signed({ runId: 'r-other' }))?.message).toContain('does not match');
    expect(refusal(signed({ signedAt: now - 5 * 60_000 - 1 }))?.message).toContain('stale');
    expect(refusal(signed({ signedAt: now + 10 * 60_000 }))?.message).toContain('future');
  });

  it('refuses a review with no user or a null identity, and every review when the worker has no signing key', () => {
    expect(refusal({ ...signed(), reviewer: { keyId: null, name: 'x' } })?.message).toContain('no reviewer user');
    expect(refusal({ ...signed(), reviewer: null } as unknown as ReviewInput)?.type).toBe('REVIEW_IDENTITY_INVALID');
    expect(refusal(signed(), { signingKey: undefined })?.message).toContain('no review signing key');
  });

  it("refuses the requester's user through any of their keys (four eyes per person), and the system's own runs by no one but people", () => {
    const ownOtherKey = { ...signed({ user: 'alice' }), reviewer: { keyId: 'key-alice-reviewer', name: 'alice-reviewer', user: 'alice' } };
    expect(refusal(ownOtherKey)?.type).toBe('REQUESTER_CANNOT_REVIEW');
    expect(refusal(signed(), { requester: { keyId: null, name: 'system:monitor' } })).toBeUndefined();
  });
});
