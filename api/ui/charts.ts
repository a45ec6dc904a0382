// The review page's plots as SVG, drawn on the server by Vega-Lite + Vega (no browser, no client-side script). Data
// is always inline: the loader refuses every URL, so a chart can never make the API fetch anything.
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { CalibrationBin } from '../../ml/metrics/index.js';
import type { RocPoint } from '../../evaluation/evaluation-plots.js';

const CANDIDATE = 'candidate';
const COLORS = { range: ['#1f6feb', '#bf8700'] };
const noNetwork = vega.loader();
noNetwork.load = () => Promise.reject(new Error('charts take inline data only'));

const baseConfig = {
  background: 'white',
  font: 'system-ui, sans-serif',
  axis: { labelFontSize: 10, titleFontSize: 11, grid: true, gridColor: '#eee' },
  legend: { orient: 'bottom', labelFontSize: 11, titleFontSize: 11 },
  view: { stroke: '#ccc' },
};

/** Renders a Vega-Lite spec to an SVG string (an accessible title, its own aria label). */
export async function renderSvg(spec: TopLevelSpec, title: string): Promise<string> {
  const { spec: compiled } = compile({ ...spec, config: { ...baseConfig, ...(spec.config ?? {}) } } as TopLevelSpec);
  const view = new vega.View(vega.parse(compiled), { renderer: 'none', loader: noNetwork });
  try {
    const svg = await view.toSVG();
    return svg.replace('<svg ', `<svg role="img" aria-label="${escapeAttribute(title)}" `);
  } finally {
    view.finalize();
  }
}

function escapeAttribute(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** The champion dashed over the candidate's solid line: where they coincide, both stay visible. */
const championDashed = { field: 'model', type: 'nominal', title: null, scale: { range: [[1, 0], [5, 3]] } } as const;

const diagonal = {
  data: { values: [{ x: 0, y: 0 }, { x: 1, y: 1 }] },
  mark: { type: 'line', strokeDash: [4, 4], color: '#999', strokeWidth: 1 },
  encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'y', type: 'quantitative' } },
} as const;

export async function rocChart(curves: { candidate: RocPoint[]; champion: RocPoint[] | null; championLabel: string }): Promise<string> {
  const values = [
    ...curves.candidate.map((p) => ({ fpr: p.fpr, tpr: p.tpr, model: CANDIDATE })),
    ...(curves.champion ?? []).map((p) => ({ fpr: p.fpr, tpr: p.tpr, model: curves.championLabel })),
  ];
  return renderSvg(
    {
      width: 240,
      height: 240,
      layer: [
        diagonal,
        {
          data: { values },
          // Straight segments, as the AUC counts them: tied scores move both rates at once (a diagonal), and between
          // thinned points a staircase would draw less area than the metric beside it.
          mark: { type: 'line', interpolate: 'linear', strokeWidth: 2 },
          encoding: {
            x: { field: 'fpr', type: 'quantitative', title: 'false-positive rate', scale: { domain: [0, 1] } },
            y: { field: 'tpr', type: 'quantitative', title: 'true-positive rate', scale: { domain: [0, 1] } },
            color: { field: 'model', type: 'nominal', title: null, scale: COLORS },
            strokeDash: championDashed,
          },
        },
      ],
    } as TopLevelSpec,
    'ROC curve',
  );
}

export async function calibrationChart(bins: { candidate: CalibrationBin[]; champion: CalibrationBin[] | null; championLabel: string }): Promise<string> {
  const points = (list: CalibrationBin[], model: string) =>
    list.filter((bin) => bin.count > 0).map((bin) => ({ predicted: bin.meanPredicted, observed: bin.observedRate, rows: bin.count, model }));
  const values = [...points(bins.candidate, CANDIDATE), ...points(bins.champion ?? [], bins.championLabel)];
  return renderSvg(
    {
      width: 240,
      height: 240,
      layer: [
        diagonal,
        {
          data: { values },
          mark: { type: 'line', point: true, strokeWidth: 2 },
          encoding: {
            x: { field: 'predicted', type: 'quantitative', title: 'mean predicted probability', scale: { domain: [0, 1] } },
            y: { field: 'observed', type: 'quantitative', title: 'observed positive rate', scale: { domain: [0, 1] } },
            color: { field: 'model', type: 'nominal', title: null, scale: COLORS },
            strokeDash: championDashed,
          },
        },
      ],
    } as TopLevelSpec,
    'calibration curve',
  );
}

export async function predictedVsActualChart(sample: { actual: number; predicted: number }[]): Promise<string> {
  const all = sample.flatMap((p) => [p.actual, p.predicted]);
  const low = Math.min(...all);
  const high = Math.max(...all);
  return renderSvg(
    {
      width: 240,
      height: 240,
      layer: [
        {
          data: { values: [{ x: low, y: low }, { x: high, y: high }] },
          mark: { type: 'line', strokeDash: [4, 4], color: '#999', strokeWidth: 1 },
          encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'y', type: 'quantitative' } },
        },
        {
          data: { values: sample },
          mark: { type: 'point', filled: true, opacity: 0.6, size: 18, color: COLORS.range[0] },
          encoding: {
            x: { field: 'actual', type: 'quantitative', title: 'actual', scale: { zero: false } },
            y: { field: 'predicted', type: 'quantitative', title: 'predicted', scale: { zero: false } },
          },
        },
      ],
    } as TopLevelSpec,
    'predicted against actual',
  );
}

export async function residualChart(sample: { actual: number; predicted: number }[]): Promise<string> {
  const values = sample.map((p) => ({ predicted: p.predicted, residual: p.actual - p.predicted }));
  return renderSvg(
    {
      width: 240,
      height: 240,
      layer: [
        { data: { values: [{ y: 0 }] }, mark: { type: 'rule', color: '#999', strokeDash: [4, 4] }, encoding: { y: { field: 'y', type: 'quantitative' } } },
        {
          data: { values },
          mark: { type: 'point', filled: true, opacity: 0.6, size: 18, color: COLORS.range[0] },
          encoding: {
            x: { field: 'predicted', type: 'quantitative', title: 'predicted', scale: { zero: false } },
            y: { field: 'residual', type: 'quantitative', title: 'residual (actual − predicted)' },
          },
        },
      ],
    } as TopLevelSpec,
    'residuals',
  );
}

export async function importanceChart(importance: { feature: string; value: number }[]): Promise<string> {
  const top = importance.slice(0, 15);
  return renderSvg(
    {
      width: 240,
      height: Math.max(60, top.length * 16),
      data: { values: top },
      mark: { type: 'bar', color: COLORS.range[0] },
      encoding: {
        y: { field: 'feature', type: 'nominal', sort: '-x', title: null },
        x: { field: 'value', type: 'quantitative', title: 'importance' },
      },
    } as TopLevelSpec,
    'feature importance',
  );
}

/** One column's distribution: against the reference as shares per bin, or alone (shares, or relative density). */
export async function driftHistogram(histogram: {
  bins: { bin: string; reference: number | null; current: number }[];
  measure: 'share' | 'density';
}): Promise<string> {
  const compared = histogram.bins.some((b) => b.reference !== null);
  const values = histogram.bins.flatMap((b, order) => [
    ...(b.reference === null ? [] : [{ bin: b.bin, order, value: b.reference, data: 'reference' }]),
    { bin: b.bin, order, value: b.current, data: 'this run' },
  ]);
  return renderSvg(
    {
      width: 200,
      height: 70,
      data: { values },
      mark: { type: 'bar' },
      encoding: {
        x: { field: 'bin', type: 'ordinal', sort: { field: 'order' }, title: null, axis: { labels: false, ticks: false } },
        ...(compared ? { xOffset: { field: 'data' } } : {}),
        y: {
          field: 'value',
          type: 'quantitative',
          title: null,
          axis: histogram.measure === 'share' ? { format: '%', tickCount: 2 } : { labels: false, ticks: false, title: 'density' },
        },
        color: compared
          ? { field: 'data', type: 'nominal', title: null, scale: { domain: ['reference', 'this run'], range: ['#999', COLORS.range[0]] } }
          : { value: COLORS.range[0] },
      },
      config: { legend: { orient: 'right', labelFontSize: 10 } },
    } as TopLevelSpec,
    compared ? 'distribution against the reference' : 'distribution',
  );
}
