// ONNX export of Keel models, its metadata, and onnxruntime-node scoring.
export { exportModelToOnnx, featureSchemaOf, OUTPUT_NAMES, ONNX_IR_VERSION, ONNX_OPSET, ONNX_ML_OPSET } from './export-model.js';
export type { OnnxExportMeta } from './export-model.js';
export { readOnnxMetadata, METADATA_KEYS } from './onnx-metadata.js';
export type { OnnxFeatureSchema, OnnxModelMetadata } from './onnx-metadata.js';
export { createOnnxScorer, OnnxInputError } from './onnx-scorer.js';
export { MISSING_CATEGORY } from './missing-category.js';
export type { OnnxScorer, OnnxScores, ColumnarInput } from './onnx-scorer.js';
export { onnxParity, parityCheck, DEFAULT_PARITY_TOLERANCE } from './onnx-parity.js';
export type { OnnxParityReport, ParityResult } from './onnx-parity.js';
