// The CLI's pure parts: CSV field conversion by declared type, progress text, tables, credentials precedence.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CliError, EXIT_CODES } from './cli-errors.js';
import { credentialsPath, resolveCredentials, storeCredentials } from './credentials.js';
import { formatTable } from './output.js';
import { convertField, csvLine, flatPrediction } from './predict-rows.js';
import { progressText, stageLines, succeeded } from './run-progress.js';

describe('convertField', () => {
  it('turns CSV text into the JSON type the source column declares', () => {
    expect(convertField('12.5', { name: 'x', type: 'DOUBLE' }, 'r1')).toBe(12.5);
    expect(convertField('7', { name: 'n', type: 'BIGINT' }, 'r1')).toBe(7);
    expect(convertField('3.25', { name: 'd', type: 'DECIMAL(10,2)' }, 'r1')).toBe(3.25);
    expect(convertField('true', { name: 'b', type: 'BOOLEAN' }, 'r1')).toBe(true);
    expect(convertField('0', { name: 'b', type: 'BOOLEAN' }, 'r1')).toBe(false);
    expect(convertField('2015-11-03', { name: 'date', type: 'DATE' }, 'r1')).toBe('2015-11-03');
    expect(convertField('00123', { name: 'zip', type: 'VARCHAR' }, 'r1')).toBe('00123');
    expect(convertField(null, { name: 'x', type: 'DOUBLE' }, 'r1')).toBeNull();
  });

  it('when a field does not fit its type, then a usage error names the row, the value and the column', () => {
    const error = (() => {
      try {
        convertField('abc', { name: 'temp', type: 'DOUBLE' }, 'rows.csv row 4');
      } catch (caught) {
        return caught as CliError;
      }
      return null;
    })();
    expect(error?.exitCode).toBe(EXIT_CODES.usage);
    expect(error?.message).toBe('rows.csv row 4: "abc" is not a number (column temp is DOUBLE)');
  });
});

describe('output', () => {
  it('aligns table columns under upper-case headers, with - for empty cells', () => {
    expect(formatTable(['id', 'status'], [['a', 'running'], ['bcd', null]])).toBe('ID   STATUS\na    running\nbcd  -');
  });

  it('quotes CSV fields that need it and spreads class probabilities into columns', () => {
    expect(csvLine(['a', 'b,c', 'say "hi"', null, 1.5])).toBe('a,"b,c","say ""hi""",,1.5');
    expect(flatPrediction(3, 2, { id: 'p', label: 'sun', probabilities: { rain: 0.2, sun: 0.8 } })).toEqual({
      row: 3,
      version: 2,
      id: 'p',
      label: 'sun',
      probability_rain: 0.2,
      probability_sun: 0.8,
    });
  });
});

describe('run progress', () => {
  const progress = { phase: 'training', iteration: 43, total: 100, unit: 'trees', rowsLoaded: null, validMetric: { name: 'logloss', best: 0.41234, bestIteration: 40 } };

  it('shows the iteration count and the validation metric while training', () => {
    expect(progressText(progress)).toBe('43/100 trees  valid logloss 0.4123');
    expect(progressText({ ...progress, phase: 'loading', rowsLoaded: 2048 })).toBe('loading 2048 rows');
  });

  it('lists finished stages with their time and the running one with its progress', () => {
    const lines = stageLines(
      {
        id: 'r',
        model: 'm',
        status: 'running',
        stage: 'train',
        reason: null,
        modelVersion: null,
        progress,
        timings: [
          { stage: 'ingest', startedAt: '2026-01-01T00:00:00.000Z', finishedAt: '2026-01-01T00:00:00.400Z', durationMs: 400 },
          { stage: 'train', startedAt: '2026-01-01T00:00:01.000Z' },
        ],
      },
      Date.parse('2026-01-01T00:00:04.000Z'),
    );
    expect(lines).toEqual(['  ✓ ingest             400ms', '  ▸ train               3.0s  43/100 trees  valid logloss 0.4123']);
  });

  it('shows a finished train stage with its parts', () => {
    const parts = [
      { part: 'load', durationMs: 1200 },
      { part: 'split', durationMs: 300 },
      { part: 'train', durationMs: 10_000 },
      { part: 'metrics', durationMs: 200 },
      { part: 'export', durationMs: 90 },
      { part: 'store', durationMs: 40 },
    ];
    const lines = stageLines(
      {
        id: 'r',
        model: 'm',
        status: 'running',
        stage: 'evaluate',
        reason: null,
        modelVersion: null,
        timings: [
          { stage: 'train', startedAt: '2026-01-01T00:00:00.000Z', finishedAt: '2026-01-01T00:00:11.830Z', durationMs: 11_830, parts },
          { stage: 'evaluate', startedAt: '2026-01-01T00:00:11.830Z' },
        ],
      },
      Date.parse('2026-01-01T00:00:12.830Z'),
    );
    expect(lines).toEqual([
      '  ✓ train              11.8s  (load 1.2s, split 300ms, train 10.0s, metrics 200ms, export 90ms, store 40ms)',
      '  ▸ evaluate            1.0s',
    ]);
  });

  it('counts deployed and awaiting review as success, every other end as failure', () => {
    expect(succeeded({ status: 'deployed' })).toBe(true);
    expect(succeeded({ status: 'awaiting_review' })).toBe(true);
    for (const status of ['rejected', 'failed', 'data_rejected', 'cancelled', 'expired', 'deploy_failed']) expect(succeeded({ status })).toBe(false);
  });
});

describe('credentials', () => {
  it('stores them with mode 0600, and flags beat the environment, which beats the stored file', async () => {
    const home = await fs.mkdtemp(path.join(os.tmpdir(), 'keel-cli-home-'));
    try {
      const env = { HOME: home };
      const file = await storeCredentials(env, { url: 'http://stored:3000/', key: 'stored-key' });
      expect(file).toBe(credentialsPath(env));
      expect((await fs.stat(file)).mode & 0o777).toBe(0o600);
      expect(await resolveCredentials(env, {})).toEqual({ url: 'http://stored:3000', key: 'stored-key' });
      expect(await resolveCredentials({ ...env, KEEL_URL: 'http://env', KEEL_API_KEY: 'env-key' }, {})).toEqual({ url: 'http://env', key: 'env-key' });
      expect(await resolveCredentials({ ...env, KEEL_API_KEY: 'env-key' }, { key: 'flag-key', url: 'http://flag' })).toEqual({ url: 'http://flag', key: 'flag-key' });
    } finally {
      await fs.rm(home, { recursive: true, force: true });
    }
  });
});
