import { describe, expect, it } from 'vitest';
import { DEFAULT_INTERVAL_MS, MAX_POLICY_DURATION_MS, monitoringPolicyWithDefaults } from './policy.js';

describe('monitoringPolicyWithDefaults', () => {
  it('when a stored policy (from before the API bounded it) gives an interval or cooldown past 365 days, then the monitor gets 365 days', () => {
    // '99999999999w' is 6e19 ms: the monitor's condition() timer with it failed its workflow task on every retry.
    const policy = monitoringPolicyWithDefaults({ interval: '99999999999w', cooldown: 1e308 });
    expect(policy.intervalMs).toBe(MAX_POLICY_DURATION_MS);
    expect(policy.cooldownMs).toBe(MAX_POLICY_DURATION_MS);
  });

  it('when durations are ordinary or absent, then they are kept or defaulted', () => {
    expect(monitoringPolicyWithDefaults({ interval: '30m', cooldown: '365 days' })).toMatchObject({ intervalMs: 1_800_000, cooldownMs: MAX_POLICY_DURATION_MS });
    expect(monitoringPolicyWithDefaults({}).intervalMs).toBe(DEFAULT_INTERVAL_MS);
  });

  it('when a duration is too long to be a number at all, then it is a RangeError (the API answers 400 before storing it)', () => {
    expect(() => monitoringPolicyWithDefaults({ interval: `${'9'.repeat(400)}ms` })).toThrow(RangeError);
  });
});
