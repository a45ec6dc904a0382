import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { distinctValues, lightgbmBinEdges } from './numeric-bin-edges.js';

const midpoint = (a: number, b: number) => a / 2 + b / 2;
const edgesOf = (values: number[], maxBins: number, minDataInBin = 3) => lightgbmBinEdges(distinctValues(values), maxBins, minDataInBin, midpoint);

describe('numeric bin edges as LightGBM finds them', () => {
  it('when there are few distinct values, then each bin holds at least minDataInBin of them and zero gets its own bin', () => {
    expect(edgesOf([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 255)).toEqual([1e-35, 3.5, 6.5, 9.5, Infinity]);
    expect(edgesOf([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 255, 1)).toEqual([1e-35, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5, 8.5, 9.5, Infinity]);
    expect(edgesOf([-3, -3, -3, 0, 0, 2, 2, 2], 255)).toEqual([-1e-35, 1e-35, Infinity]);
    expect(edgesOf([5, 5, 5, 5], 255)).toEqual([1e-35, Infinity]);
    expect(edgesOf([0, 0, 0], 255)).toEqual([Infinity]);
  });

  it('when a value fills a bin on its own, then it is kept apart from its neighbours', () => {
    const values = [...Array.from({ length: 100 }, (_, i) => i + 1), ...Array<number>(200).fill(50.5)];
    const edges = edgesOf(values, 10);
    const binOf = (x: number) => edges.findIndex((edge) => x <= edge);
    expect(binOf(50.5)).not.toBe(binOf(50));
    expect(binOf(50.5)).not.toBe(binOf(51));
    expect(edges.length).toBeLessThanOrEqual(10);
  });

  // The counts LightGBM 4.7 builds for the same values (lightgbm.Dataset(...).construct().feature_num_bin(i), the
  // Python package, default max_bin 255 / min_data_in_bin 3; Horsepower's count there includes its NaN bin).
  it('when binning cars.json, then every feature gets as many bins as LightGBM gives it', () => {
    const cars = JSON.parse(readFileSync('node_modules/vega-datasets/data/cars.json', 'utf8')) as Record<string, number | null>[];
    const lightgbmBins = { Cylinders: 6, Displacement: 55, Horsepower: 55, Weight_in_lbs: 136, Acceleration: 61 };
    for (const [feature, bins] of Object.entries(lightgbmBins)) {
      const values = cars.map((car) => car[feature] ?? NaN);
      expect(edgesOf(values, 255), feature).toHaveLength(bins);
    }
    // Negative, zero and positive values share 63 bins in proportion (LightGBM: max_bin 63 gives 63 bins).
    const mixed = [...Array.from({ length: 40 }, (_, i) => -(i + 1)), ...Array<number>(30).fill(0), ...Array.from({ length: 300 }, (_, i) => (i + 1) / 7)];
    expect(edgesOf(mixed, 63)).toHaveLength(63);
  });
});
