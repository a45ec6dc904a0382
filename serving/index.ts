// Serving: the model cache, input validation and prediction.
export { createModelCache } from './model-cache.js';
export type { LoadedModel, ModelCache, ModelCacheOptions, ModelCacheLogger } from './model-cache.js';
export { createAliasWatcher } from './alias-watcher.js';
export type { AliasWatcher, AliasWatcherOptions } from './alias-watcher.js';
export { createSessionStore } from './session-store.js';
export type { SessionStore, SessionStoreOptions, ServingLogger } from './session-store.js';
export { predictWithModel, predictSourceRowsWithModel, createPredictor } from './predict.js';
export type { PredictResponse, BinaryPrediction, RegressionPrediction, Predictor } from './predict.js';
export { validateRows } from './input-validation.js';
export { PredictionInputError, ModelNotServingError, ModelLoadError, RawRowsNotServableError } from './errors.js';
export { createServingDeps } from './serving-deps.js';
export type { ServingDeps, ServingOptions } from './serving-deps.js';
