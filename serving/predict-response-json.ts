// JSON text of predict answers and logged outputs, written by hand: 1,000 predictions per answer made
// JSON.stringify of their objects a tenth of a batch's time (bench/serve/README.md). Same text as JSON.stringify.
import type { PredictResponse } from './predict.js';

/** A number as JSON.stringify writes it (non-finite → null). */
export function jsonNumber(value: number): string {
  return Number.isFinite(value) ? String(value) : 'null';
}

/** `{"label":…,"probability":…}`: a binary prediction's output without its id, as logged. */
export function binaryOutputJson(label: number, probability: number): string {
  return `{"label":${jsonNumber(label)},"probability":${jsonNumber(probability)}}`;
}

/** `{"value":…}`: a regression prediction's output without its id, as logged. */
export function regressionOutputJson(value: number): string {
  return `{"value":${jsonNumber(value)}}`;
}

function predictionJson(prediction: object): string | undefined {
  const { id } = prediction as { id?: unknown };
  if (typeof id !== 'string') return undefined;
  const keys = Object.keys(prediction);
  if (keys.length === 3 && keys[1] === 'label' && keys[2] === 'probability') {
    const { label, probability } = prediction as { label: unknown; probability: unknown };
    if (typeof label === 'number' && typeof probability === 'number') {
      return `{"id":${JSON.stringify(id)},"label":${jsonNumber(label)},"probability":${jsonNumber(probability)}}`;
    }
  } else if (keys.length === 2 && keys[1] === 'value') {
    const { value } = prediction as { value: unknown };
    if (typeof value === 'number') return `{"id":${JSON.stringify(id)},"value":${jsonNumber(value)}}`;
  }
  return undefined;
}

/** Answers whose text was written while they were scored (see rememberResponseJson). */
const writtenAnswers = new WeakMap<object, string>();

/**
 * Keeps `text` (which must be JSON.stringify(response)) as the answer's text: predict writes it in the loop that makes
 * the predictions, so the serializer does not walk 1,000 objects again. The response must not change afterwards.
 */
export function rememberResponseJson(response: PredictResponse, text: string): void {
  writtenAnswers.set(response, text);
}

/** `{"model":…,"version":…,"predictions":[`: the start of an answer's text. */
export function responseJsonHead(model: string, version: number): string {
  return `{"model":${JSON.stringify(model)},"version":${JSON.stringify(version)},"predictions":[`;
}

/** JSON.stringify(response), faster for the shapes predict builds; anything else falls back to JSON.stringify. */
export function predictResponseJson(response: PredictResponse): string {
  const written = writtenAnswers.get(response);
  if (written !== undefined) return written;
  const keys = Object.keys(response);
  if (keys.length !== 3 || keys[0] !== 'model' || keys[1] !== 'version' || keys[2] !== 'predictions' || !Array.isArray(response.predictions)) {
    return JSON.stringify(response);
  }
  let text = responseJsonHead(response.model, response.version);
  const predictions = response.predictions as readonly object[];
  for (let i = 0; i < predictions.length; i++) {
    const prediction = predictions[i]!;
    const written = prediction !== null && typeof prediction === 'object' ? predictionJson(prediction) : undefined;
    text += (i === 0 ? '' : ',') + (written ?? JSON.stringify(prediction));
  }
  return `${text}]}`;
}
