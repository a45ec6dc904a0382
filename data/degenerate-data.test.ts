// Data validation refuses or flags what no model can be trained on, with a reason a person can act on.
// Profiles are built by DuckDB from real Parquet files, as at ingest.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDuckDb } from './duckdb-session.js';
import { profileSnapshot, type DatasetProfile } from './profile-snapshot.js';
import { validateProfile, type ValidationReport } from './validate-profile.js';

let dir: string;
let files = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'keel-degenerate-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function parquet(sql: string): Promise<string> {
  const file = join(dir, `snapshot-${files++}.parquet`);
  const session = await openDuckDb({ threads: 1 });
  try {
    await session.connection.run(`COPY (${sql}) TO '${file}' (FORMAT parquet)`);
  } finally {
    session.close();
  }
  return file;
}

async function profileOf(sql: string, reference?: DatasetProfile): Promise<DatasetProfile> {
  return profileSnapshot(await parquet(sql), reference ? { reference } : {});
}

function check(report: ValidationReport, name: string, column?: string) {
  const found = report.checks.find((candidate) => candidate.name === name && candidate.column === column);
  if (!found) throw new Error(`no ${name} check for ${column}: ${JSON.stringify(report.checks.map((c) => [c.name, c.column]))}`);
  return found;
}

/** 1,000 rows; a 0/1 flag that is 1 on the first `ones` rows; a date per row from `start`. */
const flagRows = (ones: number, start = '2024-01-01') => `
  SELECT i::DOUBLE AS x, (CASE WHEN i < ${ones} THEN 1 ELSE 0 END)::INTEGER AS flag,
         DATE '${start}' + (i % 365)::INTEGER AS day, (i % 2 = 0) AS y
  FROM range(1000) t(i)`;

describe('validation of degenerate data', () => {
  it.each([
    ['numeric', '1::INTEGER', '1 (500 rows)'],
    ['numeric', '0::DOUBLE', '0 (500 rows)'],
    ['boolean', 'true', 'true (500 rows)'],
    ['text', `'yes'`, 'yes (500 rows)'],
  ])('when a binary target (%s) has one class, then the data is rejected naming the class and its count', async (_kind, value, named) => {
    const profile = await profileOf(`SELECT i::DOUBLE AS x, ${value} AS y FROM range(500) t(i)`);
    const report = validateProfile(profile, { target: 'y', task: 'binary' });
    expect(report.passed).toBe(false);
    expect(check(report, 'target_classes', 'y')).toMatchObject({ passed: false, severity: 'error', observed: 1 });
    expect(check(report, 'target_classes', 'y').message).toContain(`one class: ${named}`);
    expect(report.summary).toContain(`binary target "y" has one class: ${named}`);
  });

  it('when a binary target has both classes, then the class check passes', async () => {
    const report = validateProfile(await profileOf(flagRows(50)), { target: 'y', task: 'binary' });
    expect(check(report, 'target_classes', 'y')).toMatchObject({ passed: true });
    expect(report.passed).toBe(true);
  });

  it('when a 0/1 flag moves from 5% to 60% ones, then PSI over its values registers the shift (decile edges saw none)', async () => {
    const reference = await profileOf(flagRows(50));
    expect(reference.columns.find((c) => c.name === 'flag')?.valueCounts).toEqual({ values: [0, 1], counts: [950, 50] });
    const shifted = await profileOf(flagRows(600), reference);
    const report = validateProfile(shifted, { target: 'y', task: 'binary', reference });
    const psiCheck = check(report, 'psi', 'flag');
    // Σ (a − e) ln(a/e) over {0, 1}: (0.40 − 0.95) ln(0.40/0.95) + (0.60 − 0.05) ln(0.60/0.05).
    const expected = (0.4 - 0.95) * Math.log(0.4 / 0.95) + (0.6 - 0.05) * Math.log(0.6 / 0.05);
    expect(psiCheck.observed as number).toBeCloseTo(expected, 3);
    expect(psiCheck).toMatchObject({ passed: false, severity: 'error' });
    expect(report.passed).toBe(false);

    const same = validateProfile(await profileOf(flagRows(50), reference), { target: 'y', task: 'binary', reference });
    expect(check(same, 'psi', 'flag')).toMatchObject({ passed: true, observed: 0 });
  });

  it('when a date column moves a year on, then its range and PSI are checked and warn, without rejecting the data', async () => {
    const reference = await profileOf(flagRows(50));
    const day = reference.columns.find((c) => c.name === 'day')!;
    expect(day.epochRange).toEqual({ min: Date.UTC(2024, 0, 1) / 1000, max: Date.UTC(2024, 11, 30) / 1000 });
    expect(day.histogram?.counts.reduce((a, b) => a + b, 0)).toBe(1000);

    const later = await profileOf(flagRows(50, '2025-06-01'), reference);
    const report = validateProfile(later, { target: 'y', task: 'binary', reference });
    expect(check(report, 'range', 'day')).toMatchObject({ passed: false, severity: 'warn' });
    expect(check(report, 'range', 'day').message).toContain('2025-06-01');
    expect(check(report, 'psi', 'day')).toMatchObject({ passed: false, severity: 'warn' });
    expect(check(report, 'psi', 'day').observed as number).toBeGreaterThan(1);
    expect(report.passed).toBe(true);

    const same = validateProfile(await profileOf(flagRows(50), reference), { target: 'y', task: 'binary', reference });
    expect(check(same, 'range', 'day')).toMatchObject({ passed: true });
    expect(check(same, 'psi', 'day')).toMatchObject({ passed: true });
  });

  it.each(['TIMESTAMP', 'TIMESTAMPTZ'])('when a %s column moves a year on, then its range and PSI are checked and warn, as for a DATE', async (type) => {
    const rows = (start: string) => `
      SELECT i::DOUBLE AS x, (${type} '${start} 00:00:00${type === 'TIMESTAMPTZ' ? '+00' : ''}' + to_seconds(i * 3_137)) AS seen_at, (i % 2 = 0) AS y
      FROM range(1000) t(i)`;
    const reference = await profileOf(rows('2024-01-01'));
    const seenAt = reference.columns.find((c) => c.name === 'seen_at')!;
    expect(seenAt.epochRange).toEqual({ min: Date.UTC(2024, 0, 1) / 1000, max: Date.UTC(2024, 0, 1) / 1000 + 999 * 3_137 });
    expect(seenAt.histogram?.counts.reduce((a, b) => a + b, 0)).toBe(1000);

    const later = validateProfile(await profileOf(rows('2025-06-01'), reference), { target: 'y', task: 'binary', reference });
    expect(check(later, 'range', 'seen_at')).toMatchObject({ passed: false, severity: 'warn' });
    expect(check(later, 'psi', 'seen_at')).toMatchObject({ passed: false, severity: 'warn' });
    expect(later.passed).toBe(true);

    const same = validateProfile(await profileOf(rows('2024-01-01'), reference), { target: 'y', task: 'binary', reference });
    expect(check(same, 'range', 'seen_at')).toMatchObject({ passed: true });
    expect(check(same, 'psi', 'seen_at')).toMatchObject({ passed: true });
  });

  it('when a column that is not a feature gains missing values, then it warns and the run goes on; in a feature it rejects', async () => {
    const rows = (nullNote: boolean) => `
      SELECT i::DOUBLE AS x, (i % 3)::DOUBLE AS z, ${nullNote ? `CASE WHEN i % 4 = 0 THEN NULL ELSE 'n' || i END` : `'n' || i`} AS note,
             ${nullNote ? `CASE WHEN i % 4 = 0 THEN NULL ELSE i::DOUBLE END` : 'i::DOUBLE'} AS row_id, (i % 2 = 0) AS y
      FROM range(400) t(i)`;
    const reference = await profileOf(rows(false));
    const current = await profileOf(rows(true), reference);
    const asNonFeatures = validateProfile(current, { target: 'y', task: 'binary', features: ['x', 'z'], reference });
    expect(check(asNonFeatures, 'null_rate', 'note')).toMatchObject({ passed: false, severity: 'warn' });
    expect(check(asNonFeatures, 'null_rate', 'row_id').message).toContain('(not a feature: a warning only)');
    expect(asNonFeatures.checks.filter((c) => c.severity === 'error')).toEqual([]);
    expect(asNonFeatures.passed).toBe(true);

    const asFeatures = validateProfile(current, { target: 'y', task: 'binary', reference });
    expect(check(asFeatures, 'null_rate', 'note')).toMatchObject({ passed: false, severity: 'error' });
    expect(asFeatures.passed).toBe(false);
  });

  it('when a feature is constant or entirely missing, then the report says the trainers ignore it; with no usable feature it rejects', async () => {
    const profile = await profileOf(`
      SELECT i::DOUBLE AS x, 7::DOUBLE AS constant, NULL::DOUBLE AS empty, 'a' AS label_text, (i % 2 = 0) AS y FROM range(100) t(i)`);
    const report = validateProfile(profile, { target: 'y', task: 'binary' });
    expect(check(report, 'feature_usable', 'constant')).toMatchObject({ passed: false, severity: 'warn' });
    expect(check(report, 'feature_usable', 'constant').message).toMatch(/is constant \(7\): the trainers cannot use it and ignore it/);
    expect(check(report, 'feature_usable', 'empty').message).toMatch(/is entirely missing/);
    expect(check(report, 'feature_usable', 'label_text')).toMatchObject({ passed: false, severity: 'warn' });
    expect(check(report, 'feature_usable', 'x')).toMatchObject({ passed: true });
    expect(check(report, 'features_usable')).toMatchObject({ passed: true, observed: 1 });
    expect(report.passed).toBe(true);

    const none = validateProfile(profile, { target: 'y', task: 'binary', features: ['constant', 'empty'] });
    expect(check(none, 'features_usable')).toMatchObject({ passed: false, severity: 'error', observed: 0 });
    expect(none.passed).toBe(false);
  });

  it('when the target has missing values, then the data is rejected with their count', async () => {
    const profile = await profileOf(`SELECT i::DOUBLE AS x, CASE WHEN i < 3 THEN NULL ELSE i % 2 END AS y FROM range(100) t(i)`);
    const report = validateProfile(profile, { target: 'y', task: 'binary' });
    expect(check(report, 'target_not_null', 'y')).toMatchObject({ passed: false, severity: 'error', observed: 3 });
    expect(report.summary).toContain('target "y" has 3 null values');
  });
});
