import { describe, expect, it } from 'vitest';
import { DEFAULT_DRIFT_POLICY, driftPolicyWithDefaults, driftVerdict } from './drift-verdict.js';

const calm = [{ name: 'age', psi: 0.02 }, { name: 'income', psi: 0.05 }, { name: 'city', psi: 0.01 }, { name: 'flag', psi: 0.0 }];

describe('driftVerdict', () => {
  it('when the window has fewer rows than minRows, then it is "not enough data", never "no drift"', () => {
    const verdict = driftVerdict({ rows: 499, features: [{ name: 'age', psi: 3 }] });
    expect(verdict.status).toBe('not_enough_data');
    expect(verdict.summary).toMatch(/499 rows.*500/);
  });

  it('when every feature is stable and performance holds, then there is no drift', () => {
    const verdict = driftVerdict({ rows: 1000, features: calm, live: { labelled: 300, auc: 0.84 }, evaluation: { auc: 0.86 } });
    expect(verdict).toMatchObject({ status: 'no_drift', breaches: [], skipped: [] });
  });

  it('when one feature reaches PSI 0.25, then that feature breaches', () => {
    const verdict = driftVerdict({ rows: 1000, features: [...calm, { name: 'month', psi: 0.25 }] });
    expect(verdict.status).toBe('drift');
    expect(verdict.breaches).toEqual([expect.objectContaining({ kind: 'feature_psi', feature: 'month', psi: 0.25, threshold: 0.25 })]);
    expect(verdict.summary).toContain('month: PSI 0.25 ≥ 0.25');
  });

  it('when half the features have PSI ≥ 0.1, then the share breaches, and fewer than half does not', () => {
    const half = [{ name: 'a', psi: 0.12 }, { name: 'b', psi: 0.1 }, { name: 'c', psi: 0.01 }, { name: 'd', psi: 0.02 }];
    const verdict = driftVerdict({ rows: 1000, features: half });
    expect(verdict.breaches).toEqual([expect.objectContaining({ kind: 'feature_share', features: ['a', 'b'], share: 0.5 })]);
    expect(driftVerdict({ rows: 1000, features: [...half, { name: 'e', psi: 0 }] }).status).toBe('no_drift');
  });

  it('when live AUC drops by more than metricDrop with enough labels, then performance breaches', () => {
    const verdict = driftVerdict({ rows: 1000, features: calm, live: { labelled: 200, auc: 0.8 }, evaluation: { auc: 0.86 } });
    expect(verdict.breaches).toEqual([expect.objectContaining({ kind: 'auc_drop', labelled: 200, threshold: 0.05 })]);
    expect((verdict.breaches[0] as { drop: number }).drop).toBeCloseTo(0.06, 12);
  });

  it('when there are fewer labels than minLabels, then performance is skipped, not judged', () => {
    const verdict = driftVerdict({ rows: 1000, features: calm, live: { labelled: 199, auc: 0.5 }, evaluation: { auc: 0.86 } });
    expect(verdict.status).toBe('no_drift');
    expect(verdict.skipped).toEqual(['performance: 199 labelled rows, the policy needs 200']);
  });

  it('when live RMSE is more than 10% above the evaluation, then it breaches, and 10% exactly does not', () => {
    expect(driftVerdict({ rows: 1000, features: calm, live: { labelled: 500, rmse: 1.11 }, evaluation: { rmse: 1 } }).breaches[0])
      .toMatchObject({ kind: 'rmse_increase', liveRmse: 1.11, evaluationRmse: 1 });
    expect(driftVerdict({ rows: 1000, features: calm, live: { labelled: 500, rmse: 1.1 }, evaluation: { rmse: 1 } }).status).toBe('no_drift');
  });

  it('when a multiclass model\'s live accuracy drops more than metricDrop below its evaluation, then it breaches', () => {
    expect(driftVerdict({ rows: 1000, features: calm, live: { labelled: 500, accuracy: 0.8 }, evaluation: { accuracy: 0.9 } }).breaches[0])
      .toMatchObject({ kind: 'accuracy_drop', liveAccuracy: 0.8, evaluationAccuracy: 0.9 });
    expect(driftVerdict({ rows: 1000, features: calm, live: { labelled: 500, accuracy: 0.86 }, evaluation: { accuracy: 0.9 } }).status).toBe('no_drift');
    expect(driftVerdict({ rows: 1000, features: calm, live: { labelled: 10, accuracy: 0.1 }, evaluation: { accuracy: 0.9 } }).skipped[0])
      .toMatch(/10 labelled rows/);
  });

  it('when a feature has no PSI, then it is listed as skipped and left out of the share', () => {
    const verdict = driftVerdict({ rows: 1000, features: [{ name: 'a', psi: 0.15 }, { name: 'b', psi: null }, { name: 'c', psi: 0.01 }] });
    expect(verdict.breaches).toEqual([expect.objectContaining({ kind: 'feature_share', features: ['a'], share: 0.5 })]);
    expect(verdict.skipped).toEqual(['feature b: no PSI (no values on one side)']);
  });

  it('when ops set some thresholds, then the others keep their defaults', () => {
    const policy = driftPolicyWithDefaults({ minRows: 10, thresholds: { psi: 0.5 } });
    expect(policy).toEqual({ ...DEFAULT_DRIFT_POLICY, minRows: 10, thresholds: { ...DEFAULT_DRIFT_POLICY.thresholds, psi: 0.5 } });
    const features = [{ name: 'a', psi: 0.3 }, { name: 'b', psi: 0 }, { name: 'c', psi: 0 }];
    expect(driftVerdict({ rows: 10, features }, policy).status).toBe('no_drift');
    expect(driftVerdict({ rows: 10, features }).status).toBe('not_enough_data');
  });
});
