// Evaluation metrics for binary and multiclass classification and regression.
export * from './binary-metrics.js';
export * from './multiclass-metrics.js';
export * from './regression-metrics.js';
export * from './summary-metrics.js';
