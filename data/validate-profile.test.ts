import { describe, expect, it } from 'vitest';
import type { ColumnProfile, DatasetProfile } from './profile-snapshot.js';
import { validateProfile, type ValidationReport } from './validate-profile.js';

function numeric(name: string, overrides: Partial<ColumnProfile> = {}): ColumnProfile {
  return {
    name,
    type: 'DOUBLE',
    kind: 'numeric',
    count: 100,
    nullCount: 0,
    nullRate: 0,
    distinctCount: 50,
    min: 0,
    max: 10,
    mean: 5,
    std: 2,
    quantiles: { p1: 0, p5: 1, p25: 3, p50: 5, p75: 7, p95: 9, p99: 10 },
    nanCount: 0,
    infinityCount: 0,
    histogram: { edges: [0, 5, 10], counts: [50, 50] },
    topValues: null,
    categoriesComplete: false,
    ...overrides,
  };
}

function categorical(name: string, values: Record<string, number>, overrides: Partial<ColumnProfile> = {}): ColumnProfile {
  const count = Object.values(values).reduce((sum, n) => sum + n, 0);
  return {
    name,
    type: 'VARCHAR',
    kind: 'categorical',
    count,
    nullCount: 0,
    nullRate: 0,
    distinctCount: Object.keys(values).length,
    min: null,
    max: null,
    mean: null,
    std: null,
    quantiles: null,
    nanCount: 0,
    infinityCount: 0,
    histogram: null,
    topValues: Object.entries(values)
      .map(([value, n]) => ({ value, count: n }))
      .sort((a, b) => b.count - a.count),
    categoriesComplete: true,
    ...overrides,
  };
}

const profile = (rowCount: number, ...columns: ColumnProfile[]): DatasetProfile => ({ version: 1, rowCount, columns });

function check(report: ValidationReport, name: string, column?: string) {
  const found = report.checks.find((candidate) => candidate.name === name && candidate.column === column);
  if (!found) throw new Error(`no ${name} check for ${column}: ${JSON.stringify(report.checks.map((c) => [c.name, c.column]))}`);
  return found;
}

const reference = profile(100, numeric('x'), categorical('label', { yes: 50, no: 50 }), categorical('city', { a: 60, b: 40 }));

describe('validateProfile', () => {
  it('passes data that looks like its reference, with every check listed', () => {
    const current = profile(
      100,
      numeric('x', { onReferenceEdges: { edges: [0, 5, 10], counts: [48, 52] } }),
      categorical('label', { yes: 49, no: 51 }),
      categorical('city', { a: 58, b: 42 }),
    );
    const report = validateProfile(current, { target: 'label', task: 'binary', reference });
    expect(report.passed).toBe(true);
    expect(report.expectationsSource).toBe('reference');
    expect(report.checks.every((candidate) => candidate.passed && candidate.severity === 'info')).toBe(true);
    expect(report.checks.map((candidate) => candidate.name)).toEqual(
      expect.arrayContaining(['min_rows', 'target_present', 'target_not_null', 'target_classes', 'column_present', 'column_type', 'null_rate', 'nan_infinity', 'range', 'unseen_categories', 'psi']),
    );
    expect(report.summary).toMatch(/^Passed: \d+ of \d+ checks passed on 100 rows × 3 columns \(the reference snapshot\)\.$/);
  });

  it('fails when the target is missing', () => {
    const report = validateProfile(profile(10, numeric('x')), { target: 'label' });
    expect(report.passed).toBe(false);
    expect(check(report, 'target_present', 'label')).toMatchObject({ passed: false, severity: 'error' });
    expect(report.summary).toMatch(/target column "label" is missing/);
  });

  it('fails when the target has nulls', () => {
    const report = validateProfile(profile(10, categorical('label', { yes: 8 }, { nullCount: 2, nullRate: 0.2 })), {
      target: 'label',
    });
    expect(check(report, 'target_not_null', 'label')).toMatchObject({ passed: false, observed: 2 });
  });

  it('fails a binary task whose target has three classes', () => {
    const report = validateProfile(profile(3, categorical('label', { a: 1, b: 1, c: 1 })), { target: 'label', task: 'binary' });
    expect(check(report, 'target_classes', 'label')).toMatchObject({ passed: false, observed: 3 });
  });

  it('reports a missing reference column as an error and an extra column as a warning', () => {
    const current = profile(100, categorical('label', { yes: 50, no: 50 }), categorical('city', { a: 60, b: 40 }), numeric('new_feature'));
    const report = validateProfile(current, { target: 'label', reference });
    expect(check(report, 'column_present', 'x')).toMatchObject({ passed: false, severity: 'error' });
    expect(check(report, 'unexpected_column', 'new_feature')).toMatchObject({ passed: false, severity: 'warn' });
    expect(report.passed).toBe(false);
  });

  it('warns when a number widens (BIGINT → DOUBLE) but fails when it turns into text', () => {
    const widened = validateProfile(profile(100, numeric('x', { type: 'BIGINT' })), { reference: profile(100, numeric('x')) });
    expect(check(widened, 'column_type', 'x')).toMatchObject({ passed: false, severity: 'warn' });
    expect(widened.passed).toBe(true);
    const text = validateProfile(profile(100, categorical('x', { warm: 100 })), { reference: profile(100, numeric('x')) });
    expect(check(text, 'column_type', 'x')).toMatchObject({ passed: false, severity: 'error', observed: 'VARCHAR', expected: 'DOUBLE' });
  });

  it('infers a null-rate limit from the reference: at most twice its rate and never below +5 points', () => {
    const ok = validateProfile(profile(100, numeric('x', { nullCount: 4, nullRate: 0.04 })), { reference: profile(100, numeric('x')) });
    expect(check(ok, 'null_rate', 'x')).toMatchObject({ passed: true, expected: { max: 0.05 } });
    const bad = validateProfile(profile(100, numeric('x', { nullCount: 30, nullRate: 0.3 })), { reference: profile(100, numeric('x')) });
    expect(check(bad, 'null_rate', 'x')).toMatchObject({ passed: false, severity: 'error' });
  });

  it('checks declared types, nullability, ranges and allowed values instead of the reference', () => {
    const current = profile(
      100,
      numeric('age', { min: -3, max: 140, nullCount: 1, nullRate: 0.01 }),
      categorical('city', { a: 90, zz: 10 }),
    );
    const report = validateProfile(current, {
      expectations: {
        columns: {
          age: { type: 'numeric', nullable: false, min: 0, max: 120 },
          city: { type: 'VARCHAR', allowed: ['a', 'b'] },
          income: { type: 'DOUBLE' },
        },
      },
      reference,
    });
    expect(report.expectationsSource).toBe('declared');
    expect(check(report, 'column_type', 'age')).toMatchObject({ passed: true });
    expect(check(report, 'null_rate', 'age')).toMatchObject({ passed: false, expected: { max: 0 } });
    expect(check(report, 'range', 'age')).toMatchObject({ passed: false, severity: 'error', observed: { min: -3, max: 140 } });
    expect(check(report, 'unseen_categories', 'city')).toMatchObject({ passed: false, observed: { share: 0.1, values: ['zz'] } });
    expect(check(report, 'column_present', 'income')).toMatchObject({ passed: false });
    expect(report.passed).toBe(false);
  });

  it('tolerates unseen categories up to the configured share', () => {
    const current = profile(100, categorical('city', { a: 58, b: 38, c: 4 }));
    const reference = profile(100, categorical('city', { a: 60, b: 40 }));
    expect(check(validateProfile(current, { reference }), 'unseen_categories', 'city').passed).toBe(true);
    const strict = validateProfile(current, { reference, expectations: { maxUnseenCategoryShare: 0.01 } });
    expect(check(strict, 'unseen_categories', 'city')).toMatchObject({ passed: false, observed: { share: 0.04 } });
  });

  it('fails on NaN or Infinity in a numeric column', () => {
    const report = validateProfile(profile(10, numeric('x', { nanCount: 2, infinityCount: 1 })));
    expect(check(report, 'nan_infinity', 'x')).toMatchObject({ passed: false, observed: { nan: 2, infinity: 1 } });
  });

  it('fails below the minimum row count', () => {
    const report = validateProfile(profile(5, numeric('x')), { expectations: { minRows: 10 } });
    expect(check(report, 'min_rows')).toMatchObject({ passed: false, observed: 5, expected: { min: 10 } });
  });

  it('grades PSI against the default thresholds: warn at 0.1, fail at 0.25', () => {
    const reference = profile(100, numeric('x'));
    const grade = (counts: number[]) =>
      check(validateProfile(profile(100, numeric('x', { onReferenceEdges: { edges: [0, 5, 10], counts } })), { reference }), 'psi', 'x');
    expect(grade([50, 50])).toMatchObject({ passed: true, observed: 0 });
    // 50/50 → 35/65: (0.15)·ln(65/50)·2 ≈ 0.0787, 50/50 → 30/70: ≈ 0.1695, 50/50 → 20/80: ≈ 0.4159
    expect(grade([35, 65])).toMatchObject({ passed: true });
    expect(grade([30, 70])).toMatchObject({ passed: false, severity: 'warn' });
    expect(grade([20, 80])).toMatchObject({ passed: false, severity: 'error' });
  });

  it('uses configured PSI thresholds and categorical PSI for text columns', () => {
    const reference = profile(100, categorical('city', { a: 50, b: 50 }));
    const current = profile(100, categorical('city', { a: 30, b: 70 }));
    const lenient = validateProfile(current, { reference, expectations: { psi: { warn: 0.2, fail: 0.5 } } });
    expect(check(lenient, 'psi', 'city')).toMatchObject({ passed: true, expected: { warn: 0.2, fail: 0.5 } });
    const strict = validateProfile(current, { reference, expectations: { psi: { warn: 0.05, fail: 0.1 } } });
    expect(check(strict, 'psi', 'city')).toMatchObject({ passed: false, severity: 'error' });
    expect(strict.summary).toMatch(/Rejected: .* 1 error: column "city" shifted by PSI 0\.169 /);
  });

  it('skips PSI when the column was binned against different edges', () => {
    const report = validateProfile(profile(100, numeric('x', { onReferenceEdges: { edges: [0, 1, 10], counts: [1, 99] } })), {
      reference: profile(100, numeric('x')),
    });
    expect(report.checks.some((candidate) => candidate.name === 'psi')).toBe(false);
  });
});
