// Public API of the histogram GBDT trainer.

export { trainGbdt, GbdtTrainingCancelled, type GbdtProgress, type GbdtTrainResult, type GbdtTrainOptions } from './train.js';
export { predictGbdt, predictGbdtRaw, type PredictInput } from './predict.js';
export { defaultGbdtParams, defaultNumThreads, GBDT_EXECUTION_PARAMS, resolveGbdtParams, resolveNumThreads, type GbdtParams, type GbdtParamsInput } from './params.js';
export { GBDT_CHECKPOINT_FORMAT, type GbdtCheckpoint } from './checkpoint.js';
export { GbdtDataTooLarge } from './row-records.js';
