import { DuckDBInstance } from '@duckdb/node-api';
import { beforeAll, describe, expect, it } from 'vitest';
import { sliceDataset, type ColumnarDataset } from '../dataset.js';
import { multiclassMetrics, rmse, rocAuc } from '../metrics/index.js';
import { predictGbdt, trainGbdt } from './index.js';

// 1461 days of Seattle weather; the first 80% (by date) train, the rest test.
let data: ColumnarDataset;
let sunny: Float64Array;
let tempMax: Float64Array;

beforeAll(async () => {
  const instance = await DuckDBInstance.create();
  const connection = await instance.connect();
  const reader = await connection.runAndReadAll(`
    SELECT precipitation::DOUBLE, temp_max::DOUBLE, temp_min::DOUBLE, wind::DOUBLE, weather,
           month(date)::DOUBLE AS month
    FROM read_csv('node_modules/vega-datasets/data/seattle-weather.csv') ORDER BY date`);
  const [precipitation, max, min, wind, weather, month] = reader.getColumns();
  const num = (v: unknown[]): Float64Array => Float64Array.from(v, (x) => (x === null ? NaN : (x as number)));
  data = {
    rowCount: reader.currentRowCount,
    columns: { precipitation: num(precipitation), temp_min: num(min), wind: num(wind), weather: weather.map((w) => (w === null ? null : String(w))), month: num(month) },
  };
  tempMax = num(max);
  sunny = Float64Array.from(weather, (w) => (w === 'sun' ? 1 : 0));
  connection.closeSync();
  instance.closeSync();
});

function split(label: Float64Array, features: string[]): { train: ColumnarDataset; test: ColumnarDataset } {
  const columns = Object.fromEntries(features.map((f) => [f, data.columns[f]]));
  const all = { rowCount: data.rowCount, columns, label };
  const cut = Math.floor(data.rowCount * 0.8);
  return { train: sliceDataset(all, 0, cut), test: sliceDataset(all, cut, data.rowCount) };
}

describe('trainGbdt on seattle-weather.csv', () => {
  it('when predicting temp_max from temp_min, month, wind, weather, then test RMSE is well under the spread', async () => {
    const { train, test } = split(tempMax, ['temp_min', 'month', 'wind', 'weather', 'precipitation']);
    const result = await trainGbdt(train, { task: 'regression', numIterations: 200, numLeaves: 15, learningRate: 0.05, validationFraction: 0.15, earlyStoppingRounds: 20 });
    const predicted = predictGbdt(result.model, test);
    const mean = test.label!.reduce((a, b) => a + b, 0) / test.rowCount;
    const spread = Math.sqrt(test.label!.reduce((a, b) => a + (b - mean) ** 2, 0) / test.rowCount);
    expect(result.metricName).toBe('rmse');
    expect(rmse(test.label!, predicted)).toBeLessThan(0.45 * spread);
  });

  it('when classifying sunny days from precipitation, temperatures, wind and month, then test AUC exceeds 0.88', async () => {
    const { train, test } = split(sunny, ['precipitation', 'temp_min', 'wind', 'month']);
    const result = await trainGbdt(train, { task: 'binary', numIterations: 100, numLeaves: 15, learningRate: 0.05, minDataInLeaf: 10 });
    expect(result.metricName).toBe('logloss');
    expect(result.curve.at(-1)!.trainMetric).toBeLessThan(result.curve[0].trainMetric);
    const auc = rocAuc(test.label!, predictGbdt(result.model, test));
    expect(auc).toBeGreaterThan(0.88);
  });

  it('when classifying the 5 weather classes with default parameters, then test log loss is within 5% of LightGBM 4.6.0 defaults', async () => {
    // LightGBM 4.6.0 (Python), objective='multiclass', num_class=5, defaults otherwise (100 rounds, 31 leaves,
    // learning rate 0.1, min_data_in_leaf 20), deterministic=True, on the same rows and split (first 80% by date;
    // precipitation, temp_min, wind, month): test multi_logloss 0.71896, accuracy 0.8498; the class prior's log loss is 1.0959.
    const classes = ['drizzle', 'fog', 'rain', 'snow', 'sun'];
    const weather = data.columns.weather as (string | null)[];
    const code = Float64Array.from(weather, (w) => classes.indexOf(w!));
    const { train, test } = split(code, ['precipitation', 'temp_min', 'wind', 'month']);
    const result = await trainGbdt(train, { task: 'multiclass', numClass: 5 });
    expect(result.metricName).toBe('multi_logloss');
    expect(result.model.trees).toHaveLength(500);
    const m = multiclassMetrics(test.label!, predictGbdt(result.model, test), classes);
    expect(m.logLoss).toBeLessThan(0.71896 * 1.05);
    expect(m.accuracy).toBeGreaterThan(0.8);
    expect(m.confusion.flat().reduce((a, b) => a + b, 0)).toBe(test.rowCount);
  });
});
