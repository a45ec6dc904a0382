// Evaluation metrics for binary classification and regression.
export * from './binary-metrics.js';
export * from './regression-metrics.js';
export * from './summary-metrics.js';
