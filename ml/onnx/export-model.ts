// Turns a trained Keel model into ONNX bytes whose graph includes the preprocessing, so training and serving agree.
import { modelClasses, type Feature, type Model } from '../model.js';
import { addGbdtClassScores, addLinearClassScores, addMulticlassOutputs } from './export-multiclass.js';
import { addGbdtRawScore } from './export-gbdt.js';
import { addLinearRawScore } from './export-linear.js';
import { GraphBuilder, ML_DOMAIN, doubleTensor } from './graph-builder.js';
import { OnnxDataType, encodeModelProto } from './onnx-proto.js';
import { METADATA_KEYS, type OnnxFeatureSchema } from './onnx-metadata.js';

export const ONNX_IR_VERSION = 10;
export const ONNX_OPSET = 21;
export const ONNX_ML_OPSET = 5;
/**
 * Graph output names: binary models give `label` (int64, 1 when p >= 0.5) and `probability`; regression gives
 * `value`; multiclass gives `label` (string, the most probable class) and `probabilities` (double [N, K]).
 */
export const OUTPUT_NAMES = { label: 'label', probability: 'probability', value: 'value', probabilities: 'probabilities' } as const;

export interface OnnxExportMeta {
  snapshotSha256: string;
  keelVersion: string;
  extra?: Record<string, string>;
}

/** Graph input names: the feature name, unless it would clash with an output name. */
function inputNamesFor(features: Feature[]): string[] {
  const taken = new Set<string>(Object.values(OUTPUT_NAMES));
  return features.map((feature) => {
    let name = feature.name;
    while (taken.has(name)) name = `${name}_input`;
    taken.add(name);
    return name;
  });
}

export function featureSchemaOf(features: Feature[]): OnnxFeatureSchema[] {
  const inputs = inputNamesFor(features);
  return features.map((feature, index) =>
    feature.kind === 'numeric'
      ? { name: feature.name, kind: 'numeric', input: inputs[index] }
      : { name: feature.name, kind: 'categorical', categories: feature.categories, input: inputs[index] },
  );
}

export function exportModelToOnnx(model: Model, meta: OnnxExportMeta): Uint8Array {
  if (model.features.length === 0) throw new Error('cannot export a model without features');
  const names = new Set<string>();
  for (const feature of model.features) {
    if (names.has(feature.name)) throw new Error(`duplicate feature name "${feature.name}"`);
    names.add(feature.name);
    if (feature.kind === 'categorical' && new Set(feature.categories).size !== feature.categories.length) {
      throw new Error(`categorical feature "${feature.name}" lists a category twice`);
    }
  }
  if (model.kind === 'linear') {
    for (const spec of model.categorical) {
      if (new Set(spec.categories).size !== spec.categories.length) {
        throw new Error(`categorical feature "${spec.name}" lists a category twice`);
      }
    }
  }
  const schema = featureSchemaOf(model.features);
  const graph = new GraphBuilder();
  for (const feature of schema) {
    // Double inputs: float32 cannot tell apart epoch seconds (spacing 128 s near 1.7e9), large ids or amounts.
    graph.input(feature.input, feature.kind === 'numeric' ? OnnxDataType.DOUBLE : OnnxDataType.STRING, ['N', 1]);
  }
  const inputByName = new Map(schema.map((f) => [f.name, f.input]));
  const inputOf = (name: string) => {
    const input = inputByName.get(name);
    if (input === undefined) throw new Error(`linear encoding uses "${name}", which is not among the model's features`);
    return input;
  };
  const classes = modelClasses(model);
  if (classes !== null) {
    const classScores =
      model.kind === 'gbdt' ? addGbdtClassScores(graph, model, schema.map((f) => f.input)) : addLinearClassScores(graph, model, inputOf);
    addMulticlassOutputs(graph, classScores, classes, { label: OUTPUT_NAMES.label, probabilities: OUTPUT_NAMES.probabilities });
  }
  const rawScore =
    classes !== null ? null : model.kind === 'gbdt' ? addGbdtRawScore(graph, model, schema.map((f) => f.input)) : addLinearRawScore(graph, model, inputOf);

  // A multiclass model's outputs are added above; binary and regression heads read the one raw score.
  if (rawScore !== null && model.task === 'binary') {
    const probability = graph.node('Sigmoid', [rawScore]);
    graph.node('Cast', [probability], { to: { int: OnnxDataType.DOUBLE } }, { outputName: OUTPUT_NAMES.probability });
    const half = graph.constant('half', doubleTensor([0.5], [1]));
    const positive = graph.node('GreaterOrEqual', [probability, half]);
    graph.node('Cast', [positive], { to: { int: OnnxDataType.INT64 } }, { outputName: OUTPUT_NAMES.label });
    graph.output(OUTPUT_NAMES.label, OnnxDataType.INT64, ['N', 1]);
    graph.output(OUTPUT_NAMES.probability, OnnxDataType.DOUBLE, ['N', 1]);
  } else if (rawScore !== null) {
    graph.node('Cast', [rawScore], { to: { int: OnnxDataType.DOUBLE } }, { outputName: OUTPUT_NAMES.value });
    graph.output(OUTPUT_NAMES.value, OnnxDataType.DOUBLE, ['N', 1]);
  }

  const properties: Record<string, string> = {
    ...(meta.extra ?? {}),
    [METADATA_KEYS.features]: JSON.stringify(schema),
    [METADATA_KEYS.task]: model.task,
    ...(classes === null ? {} : { [METADATA_KEYS.classes]: JSON.stringify(classes) }),
    [METADATA_KEYS.modelKind]: model.kind,
    [METADATA_KEYS.snapshotSha256]: meta.snapshotSha256,
    [METADATA_KEYS.version]: meta.keelVersion,
  };
  return encodeModelProto({
    irVersion: ONNX_IR_VERSION,
    producerName: 'keel',
    producerVersion: meta.keelVersion,
    docString: `Keel ${model.kind} ${model.task} model with its input preprocessing`,
    graph: graph.build(`keel_${model.kind}_${model.task}`),
    opsetImport: [
      { domain: '', version: ONNX_OPSET },
      { domain: ML_DOMAIN, version: ONNX_ML_OPSET },
    ],
    metadataProps: Object.entries(properties).map(([key, value]) => ({ key, value })),
  });
}
