// Logistic / ridge regression trainer and its predictor.
export { trainLinear } from './train-linear.js';
export type { TrainLinearOptions } from './train-linear.js';
export { predictLinear, linearRawScores } from './predict-linear.js';
export { defaultLinearParams, resolveLinearParams } from './linear-params.js';
export type { LinearParams, LinearParamsInput } from './linear-params.js';
