// Validation: a pure function of the new profile, the declared expectations and the reference profile.
// Declared expectations win; without them, expectations are inferred from the reference (the model's last
// accepted snapshot). A report fails when any check of severity "error" fails.
import { columnKind, type ColumnKind, type ColumnProfile, type DatasetProfile } from './profile-snapshot.js';
import { DEFAULT_PSI_THRESHOLDS, categoricalPsi, psi, type PsiThresholds } from './psi.js';
// Expectations are declared in the run spec; their one schema (and type) lives with it.
import type { ColumnExpectation, Expectations, Task } from '../workflows/contracts/run-spec.js';
import { MAX_CLASSES, MIN_CLASSES } from '../ml/model.js';

export type CheckSeverity = 'info' | 'warn' | 'error';

export interface ValidationCheck {
  name: string;
  column?: string;
  observed: unknown;
  expected: unknown;
  /** `info` for checks that passed; `warn` or `error` for ones that did not. */
  severity: CheckSeverity;
  passed: boolean;
  message: string;
}

export interface ValidationReport {
  passed: boolean;
  rowCount: number;
  expectationsSource: 'declared' | 'reference' | 'none';
  checks: ValidationCheck[];
  summary: string;
}

export interface ValidateOptions {
  /** The training target: must be present and never null. */
  target?: string;
  /** Binary targets must have exactly two distinct values; regression targets must be numeric. */
  task?: Task;
  /**
   * The run's feature columns (default: every column but the target). Nulls and NaN in other columns only warn:
   * the trainers never read them.
   */
  features?: readonly string[];
  expectations?: Expectations;
  /** The reference snapshot's profile, ideally built with `profileSnapshot(path, { reference })` … of this one. */
  reference?: DatasetProfile;
}

const KINDS: readonly ColumnKind[] = ['numeric', 'boolean', 'categorical', 'temporal', 'other'];
const INFERRED_UNSEEN_SHARE = 0.05;
/** How far past the reference's min/max a value may go before the (warning-only) inferred range check fires. */
const INFERRED_RANGE_SLACK = 0.1;

function fmt(value: number): string {
  if (Number.isInteger(value)) return value.toLocaleString('en-US');
  return Math.abs(value) >= 1000 ? value.toFixed(1) : Number(value.toPrecision(3)).toString();
}

function pct(share: number): string {
  return `${Number((share * 100).toPrecision(3))}%`;
}

class Checks {
  readonly list: ValidationCheck[] = [];

  add(
    ok: boolean,
    failSeverity: 'warn' | 'error',
    check: Omit<ValidationCheck, 'severity' | 'passed'>,
  ): void {
    this.list.push({ ...check, passed: ok, severity: ok ? 'info' : failSeverity });
  }
}

function typeMatches(expected: string, actual: ColumnProfile): boolean {
  const wanted = expected.trim();
  if ((KINDS as readonly string[]).includes(wanted.toLowerCase())) return actual.kind === wanted.toLowerCase();
  return wanted.toUpperCase() === actual.type.toUpperCase();
}

/** Share of non-null values of `column` outside `known`; an upper bound when the categories are not all listed. */
function unseenShare(column: ColumnProfile, known: ReadonlySet<string>): { share: number; unseen: string[] } {
  if (column.count === 0 || !column.topValues) return { share: 0, unseen: [] };
  let seen = 0;
  const unseen: string[] = [];
  for (const entry of column.topValues) {
    if (known.has(entry.value)) seen += entry.count;
    else unseen.push(entry.value);
  }
  return { share: (column.count - seen) / column.count, unseen };
}

export function validateProfile(profile: DatasetProfile, options: ValidateOptions = {}): ValidationReport {
  const { target, reference } = options;
  const expectations = options.expectations ?? {};
  const checks = new Checks();
  const byName = new Map(profile.columns.map((column) => [column.name, column]));
  const referenceByName = new Map((reference?.columns ?? []).map((column) => [column.name, column]));
  const declared = expectations.columns !== undefined && Object.keys(expectations.columns).length > 0;
  const expectationsSource = declared ? 'declared' : reference ? 'reference' : 'none';
  const thresholds: PsiThresholds = { ...DEFAULT_PSI_THRESHOLDS, ...expectations.psi };

  const minRows = expectations.minRows ?? 1;
  checks.add(profile.rowCount >= minRows, 'error', {
    name: 'min_rows',
    observed: profile.rowCount,
    expected: { min: minRows },
    message: `${fmt(profile.rowCount)} rows, at least ${fmt(minRows)} required`,
  });

  if (target !== undefined) {
    const column = byName.get(target);
    checks.add(column !== undefined, 'error', {
      name: 'target_present',
      column: target,
      observed: column !== undefined,
      expected: true,
      message: column ? `target column "${target}" is present` : `target column "${target}" is missing`,
    });
    if (column) {
      checks.add(column.nullCount === 0, 'error', {
        name: 'target_not_null',
        column: target,
        observed: column.nullCount,
        expected: 0,
        message: `target "${target}" has ${fmt(column.nullCount)} null values`,
      });
      if (options.task === 'binary') {
        const classes = column.distinctCount ?? 0;
        const counts = classCounts(column);
        const listed = counts.map((entry) => `${entry.value} (${fmt(entry.count)} rows)`).join(', ');
        checks.add(classes === 2, 'error', {
          name: 'target_classes',
          column: target,
          observed: classes,
          expected: { min: 2, max: 2 },
          message: classes === 1
            ? `binary target "${target}" has one class: ${listed}; a binary target needs rows of both classes`
            : classes === 0
              ? `binary target "${target}" has no values`
              : `binary target "${target}" has ${fmt(classes)} distinct values${classes > 2 ? '' : `: ${listed}`}`,
        });
      } else if (options.task === 'multiclass') {
        const classes = column.distinctCount ?? 0;
        const listed = classes <= 10 ? `: ${classCounts(column).map((entry) => `${entry.value} (${fmt(entry.count)} rows)`).join(', ')}` : '';
        checks.add(classes >= MIN_CLASSES && classes <= MAX_CLASSES, 'error', {
          name: 'target_classes',
          column: target,
          observed: classes,
          expected: { min: MIN_CLASSES, max: MAX_CLASSES },
          message:
            classes < MIN_CLASSES
              ? `multiclass target "${target}" has ${fmt(classes)} ${classes === 1 ? 'class' : 'classes'}${listed}; a multiclass task needs ${MIN_CLASSES} to ${fmt(MAX_CLASSES)}${classes === 2 ? "; use task 'binary' for two classes" : ''}`
              : classes > MAX_CLASSES
                ? `multiclass target "${target}" has ${fmt(classes)} distinct values; a multiclass task takes ${MIN_CLASSES} to ${fmt(MAX_CLASSES)} classes`
                : `multiclass target "${target}" has ${fmt(classes)} classes`,
        });
      } else if (options.task === 'regression') {
        checks.add(column.kind === 'numeric', 'error', {
          name: 'target_type',
          column: target,
          observed: column.type,
          expected: 'numeric',
          message: `regression target "${target}" is ${column.type}, expected a number`,
        });
      }
    }
  }

  const isFeature = (name: string): boolean =>
    name !== target && (options.features === undefined || options.features.includes(name));
  featureUsabilityChecks(checks, profile, isFeature);

  // Schema: the expected columns are the declared ones, else the reference's.
  const expectedColumns: Map<string, ColumnExpectation & { referenceType?: string }> = new Map();
  if (declared) {
    for (const [name, expectation] of Object.entries(expectations.columns!)) expectedColumns.set(name, expectation);
  } else if (reference) {
    for (const column of reference.columns) expectedColumns.set(column.name, { referenceType: column.type });
  }
  for (const [name, expectation] of expectedColumns) {
    const column = byName.get(name);
    checks.add(column !== undefined, 'error', {
      name: 'column_present',
      column: name,
      observed: column !== undefined,
      expected: true,
      message: column ? `column "${name}" is present` : `column "${name}" is missing`,
    });
    if (!column) continue;
    if (expectation.type !== undefined) {
      checks.add(typeMatches(expectation.type, column), 'error', {
        name: 'column_type',
        column: name,
        observed: column.type,
        expected: expectation.type,
        message: `column "${name}" is ${column.type}, expected ${expectation.type}`,
      });
    } else if (expectation.referenceType !== undefined) {
      const referenceKind = columnKind(expectation.referenceType);
      const sameType = column.type === expectation.referenceType;
      const sameKind = column.kind === referenceKind;
      // A widened number (BIGINT → DOUBLE) is worth a warning; text where numbers were is an error.
      checks.add(sameType, sameKind ? 'warn' : 'error', {
        name: 'column_type',
        column: name,
        observed: column.type,
        expected: expectation.referenceType,
        message: sameType
          ? `column "${name}" keeps type ${column.type}`
          : `column "${name}" is ${column.type} (${column.kind}), the reference has ${expectation.referenceType} (${referenceKind})`,
      });
    }
  }
  if (expectedColumns.size > 0) {
    for (const column of profile.columns) {
      if (expectedColumns.has(column.name) || column.name === target) continue;
      checks.add(false, 'warn', {
        name: 'unexpected_column',
        column: column.name,
        observed: column.type,
        expected: null,
        message: `column "${column.name}" (${column.type}) is not in the ${declared ? 'declared expectations' : 'reference'}`,
      });
    }
  }

  for (const column of profile.columns) {
    const declaredColumn = declared ? expectations.columns![column.name] : undefined;
    const referenceColumn = referenceByName.get(column.name);

    // Null rate: declared limit, else at most twice the reference's (and never less than +5 points).
    let maxNullRate: number | undefined;
    if (declaredColumn?.nullable === false) maxNullRate = 0;
    else if (declaredColumn?.maxNullRate !== undefined) maxNullRate = declaredColumn.maxNullRate;
    else if (!declared && referenceColumn) {
      maxNullRate = Math.min(1, Math.max(2 * referenceColumn.nullRate, referenceColumn.nullRate + 0.05));
    }
    const firstCheck = checks.list.length;
    if (maxNullRate !== undefined && column.name !== target) {
      checks.add(column.nullRate <= maxNullRate, 'error', {
        name: 'null_rate',
        column: column.name,
        observed: column.nullRate,
        expected: { max: maxNullRate },
        message: `column "${column.name}" is ${pct(column.nullRate)} null, at most ${pct(maxNullRate)} allowed`,
      });
    }

    if (column.kind === 'numeric') {
      const bad = column.nanCount + column.infinityCount;
      checks.add(bad === 0, 'error', {
        name: 'nan_infinity',
        column: column.name,
        observed: { nan: column.nanCount, infinity: column.infinityCount },
        expected: { nan: 0, infinity: 0 },
        message: `column "${column.name}" has ${fmt(column.nanCount)} NaN and ${fmt(column.infinityCount)} infinite values`,
      });
      rangeCheck(checks, column, declaredColumn, declared ? undefined : referenceColumn);
    }

    if (column.kind === 'temporal' && !declared && referenceColumn) temporalRangeCheck(checks, column, referenceColumn);

    if (column.kind === 'categorical' || column.kind === 'boolean') {
      categoryCheck(checks, column, declaredColumn, declared ? undefined : referenceColumn, expectations);
    }

    if (referenceColumn) psiCheck(checks, column, referenceColumn, thresholds);

    // A column no trainer reads cannot break a run: its missing values, NaN or shift are worth a warning only.
    if (column.name !== target && !isFeature(column.name)) {
      for (const check of checks.list.slice(firstCheck)) {
        if (check.severity !== 'error') continue;
        check.severity = 'warn';
        check.message += ' (not a feature: a warning only)';
      }
    }
  }

  const passed = checks.list.every((check) => check.passed || check.severity !== 'error');
  return {
    passed,
    rowCount: profile.rowCount,
    expectationsSource,
    checks: checks.list,
    summary: summarize(profile, checks.list, passed, expectationsSource),
  };
}

function rangeCheck(
  checks: Checks,
  column: ColumnProfile,
  declaredColumn: ColumnExpectation | undefined,
  referenceColumn: ColumnProfile | undefined,
): void {
  const min = typeof column.min === 'number' ? column.min : null;
  const max = typeof column.max === 'number' ? column.max : null;
  if (min === null || max === null) return;
  if (declaredColumn && (declaredColumn.min !== undefined || declaredColumn.max !== undefined)) {
    const ok = (declaredColumn.min === undefined || min >= declaredColumn.min) &&
      (declaredColumn.max === undefined || max <= declaredColumn.max);
    checks.add(ok, 'error', {
      name: 'range',
      column: column.name,
      observed: { min, max },
      expected: { min: declaredColumn.min ?? null, max: declaredColumn.max ?? null },
      message: `column "${column.name}" spans [${fmt(min)}, ${fmt(max)}], allowed [${declaredColumn.min ?? '-∞'}, ${declaredColumn.max ?? '∞'}]`,
    });
    return;
  }
  if (referenceColumn && referenceColumn.kind === 'numeric' && typeof referenceColumn.min === 'number' && typeof referenceColumn.max === 'number') {
    const slack = (referenceColumn.max - referenceColumn.min) * INFERRED_RANGE_SLACK;
    const low = referenceColumn.min - slack;
    const high = referenceColumn.max + slack;
    checks.add(min >= low && max <= high, 'warn', {
      name: 'range',
      column: column.name,
      observed: { min, max },
      expected: { min: low, max: high },
      message: `column "${column.name}" spans [${fmt(min)}, ${fmt(max)}]; the reference spans [${fmt(referenceColumn.min)}, ${fmt(referenceColumn.max)}]`,
    });
  }
}

function categoryCheck(
  checks: Checks,
  column: ColumnProfile,
  declaredColumn: ColumnExpectation | undefined,
  referenceColumn: ColumnProfile | undefined,
  expectations: Expectations,
): void {
  let known: Set<string> | undefined;
  let limit: number;
  if (declaredColumn?.allowed) {
    known = new Set(declaredColumn.allowed);
    limit = expectations.maxUnseenCategoryShare ?? 0;
  } else if (referenceColumn?.categoriesComplete && referenceColumn.topValues && referenceColumn.kind === column.kind) {
    known = new Set(referenceColumn.topValues.map((entry) => entry.value));
    limit = expectations.maxUnseenCategoryShare ?? INFERRED_UNSEEN_SHARE;
  } else {
    return;
  }
  const { share, unseen } = unseenShare(column, known);
  const listed = unseen.slice(0, 5).map((value) => JSON.stringify(value)).join(', ');
  checks.add(share <= limit, 'error', {
    name: 'unseen_categories',
    column: column.name,
    observed: { share, values: unseen.slice(0, 20) },
    expected: { maxShare: limit, known: known.size },
    message: `column "${column.name}" has ${pct(share)} of values outside the ${declaredColumn?.allowed ? 'allowed' : 'reference'} categories${listed ? ` (${listed}${unseen.length > 5 ? ', …' : ''})` : ''}, at most ${pct(limit)} allowed`,
  });
}

function psiCheck(checks: Checks, column: ColumnProfile, referenceColumn: ColumnProfile, thresholds: PsiThresholds): void {
  let value: number | undefined;
  let basis = '';
  if (column.kind === 'numeric' && referenceColumn.kind === 'numeric' && referenceColumn.valueCounts && column.onReferenceValues) {
    // Few distinct values: one bin per reference value (plus one for values it never had).
    const binned = column.onReferenceValues;
    if (binned.values.length !== referenceColumn.valueCounts.values.length ||
        binned.values.some((v, index) => v !== referenceColumn.valueCounts!.values[index])) {
      return;
    }
    value = psi([...referenceColumn.valueCounts.counts, 0], [...binned.counts, binned.other]);
    basis = ` over its ${binned.values.length} values`;
  } else if ((column.kind === 'numeric' && referenceColumn.kind === 'numeric') || (column.kind === 'temporal' && referenceColumn.kind === 'temporal')) {
    const referenceHistogram = referenceColumn.histogram;
    const binned = column.onReferenceEdges;
    if (!referenceHistogram || !binned) return;
    if (binned.edges.length !== referenceHistogram.edges.length ||
        binned.edges.some((edge, index) => edge !== referenceHistogram.edges[index])) {
      return; // profiled against another reference: no comparable bins
    }
    value = psi(referenceHistogram.counts, binned.counts);
  } else if (
    (column.kind === 'categorical' || column.kind === 'boolean') &&
    column.kind === referenceColumn.kind &&
    column.topValues && referenceColumn.topValues
  ) {
    value = categoricalPsi(
      { values: referenceColumn.topValues, total: referenceColumn.count, complete: referenceColumn.categoriesComplete },
      { values: column.topValues, total: column.count },
    );
  }
  if (value === undefined) return;
  // Dates move forward from one snapshot to the next by nature: their shift is reported, never fatal.
  const temporal = column.kind === 'temporal';
  const severity = value >= thresholds.fail && !temporal ? 'error' : 'warn';
  checks.add(value < thresholds.warn, severity, {
    name: 'psi',
    column: column.name,
    observed: value,
    expected: { warn: thresholds.warn, fail: temporal ? null : thresholds.fail },
    message: `column "${column.name}" shifted by PSI ${fmt(value)}${basis} (warn at ${thresholds.warn}, ${temporal ? 'a date column never fails' : `fail at ${thresholds.fail}`})`,
  });
}

/** The target's classes and their counts, when the profile lists them (text, boolean, or a number with few values). */
function classCounts(column: ColumnProfile): { value: string; count: number }[] {
  if (column.topValues && column.categoriesComplete) return column.topValues.map((entry) => ({ ...entry }));
  if (column.valueCounts) return column.valueCounts.values.map((value, i) => ({ value: String(value), count: column.valueCounts!.counts[i]! }));
  return [];
}

/**
 * A feature that is entirely missing or constant carries no signal: the trainers keep it in the model's input
 * schema (serving rows keep their shape) but can never split on or weigh it. Warned per column; an error when
 * no feature is usable at all.
 */
function featureUsabilityChecks(checks: Checks, profile: DatasetProfile, isFeature: (name: string) => boolean): void {
  const features = profile.columns.filter((column) => isFeature(column.name));
  if (features.length === 0 || profile.rowCount === 0) return;
  let usable = 0;
  for (const column of features) {
    const finite = column.count - column.nanCount - column.infinityCount;
    const allMissing = column.kind === 'numeric' ? finite === 0 : column.count === 0;
    const constant = !allMissing && column.nullCount === 0 && column.nanCount === 0 && column.distinctCount === 1;
    if (!allMissing && !constant) usable++;
    const why = allMissing ? 'is entirely missing' : `is constant (${String(column.topValues?.[0]?.value ?? column.min ?? '')})`;
    checks.add(!allMissing && !constant, 'warn', {
      name: 'feature_usable',
      column: column.name,
      observed: { nullCount: column.nullCount, distinctCount: column.distinctCount },
      expected: 'some variation',
      message: allMissing || constant
        ? `feature "${column.name}" ${why}: the trainers cannot use it and ignore it (it stays in the model's input schema)`
        : `feature "${column.name}" varies`,
    });
  }
  checks.add(usable > 0, 'error', {
    name: 'features_usable',
    observed: usable,
    expected: { min: 1 },
    message: `${fmt(usable)} of ${fmt(features.length)} features vary; a model needs at least one`,
  });
}

function isoOfEpoch(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace('T00:00:00.000Z', '').replace('.000Z', 'Z');
}

/** Dates: a warning when the range leaves the reference's by more than INFERRED_RANGE_SLACK of its span. */
function temporalRangeCheck(checks: Checks, column: ColumnProfile, referenceColumn: ColumnProfile): void {
  const range = column.epochRange;
  const referenceRange = referenceColumn.epochRange;
  if (!range || !referenceRange || referenceColumn.kind !== 'temporal') return;
  const slack = (referenceRange.max - referenceRange.min) * INFERRED_RANGE_SLACK;
  const low = referenceRange.min - slack;
  const high = referenceRange.max + slack;
  checks.add(range.min >= low && range.max <= high, 'warn', {
    name: 'range',
    column: column.name,
    observed: { min: column.min, max: column.max },
    expected: { min: isoOfEpoch(low), max: isoOfEpoch(high) },
    message: `column "${column.name}" spans [${String(column.min)}, ${String(column.max)}]; the reference spans [${String(referenceColumn.min)}, ${String(referenceColumn.max)}]`,
  });
}

function summarize(
  profile: DatasetProfile,
  checks: readonly ValidationCheck[],
  passed: boolean,
  source: ValidationReport['expectationsSource'],
): string {
  const errors = checks.filter((check) => !check.passed && check.severity === 'error');
  const warnings = checks.filter((check) => !check.passed && check.severity === 'warn');
  const basis = source === 'declared' ? 'declared expectations' : source === 'reference' ? 'the reference snapshot' : 'generic checks only';
  const head = `${passed ? 'Passed' : 'Rejected'}: ${checks.length - errors.length - warnings.length} of ${checks.length} checks passed on ${fmt(profile.rowCount)} rows × ${profile.columns.length} columns (${basis}).`;
  const list = (items: readonly ValidationCheck[], label: string) => {
    if (items.length === 0) return '';
    const shown = items.slice(0, 5).map((check) => check.message).join('; ');
    return ` ${items.length} ${label}${items.length === 1 ? '' : 's'}: ${shown}${items.length > 5 ? `; and ${items.length - 5} more` : ''}.`;
  };
  return `${head}${list(errors, 'error')}${list(warnings, 'warning')}`;
}
