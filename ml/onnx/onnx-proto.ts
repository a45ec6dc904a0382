// Encodes and decodes ONNX ModelProto bytes with protobufjs, using the IR subset in onnx-ir.proto.
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

/** TensorProto.DataType values used by Keel graphs. */
export const OnnxDataType = {
  FLOAT: 1,
  UINT8: 2,
  INT64: 7,
  STRING: 8,
  BOOL: 9,
  DOUBLE: 11,
} as const;

/** AttributeProto.AttributeType values. */
export const OnnxAttributeType = {
  FLOAT: 1,
  INT: 2,
  STRING: 3,
  TENSOR: 4,
  FLOATS: 6,
  INTS: 7,
  STRINGS: 8,
} as const;

export interface TensorMessage {
  name?: string;
  dims: number[];
  dataType: number;
  rawData?: Uint8Array;
  stringData?: Uint8Array[];
}

export interface AttributeMessage {
  name: string;
  type: number;
  f?: number;
  i?: number;
  s?: Uint8Array;
  t?: TensorMessage;
  floats?: number[];
  ints?: number[];
  strings?: Uint8Array[];
}

export interface NodeMessage {
  input: string[];
  output: string[];
  name?: string;
  opType: string;
  domain?: string;
  attribute: AttributeMessage[];
}

export interface TensorShapeDim {
  dimValue?: number;
  dimParam?: string;
}

export interface ValueInfoMessage {
  name: string;
  type: { tensorType: { elemType: number; shape: { dim: TensorShapeDim[] } } };
}

export interface GraphMessage {
  name: string;
  node: NodeMessage[];
  initializer: TensorMessage[];
  input: ValueInfoMessage[];
  output: ValueInfoMessage[];
}

export interface ModelMessage {
  irVersion: number;
  producerName: string;
  producerVersion: string;
  docString?: string;
  graph: GraphMessage;
  opsetImport: { domain: string; version: number }[];
  metadataProps: { key: string; value: string }[];
}

let modelProtoType: protobuf.Type | undefined;

function modelProto(): protobuf.Type {
  if (modelProtoType === undefined) {
    const root = protobuf.loadSync(fileURLToPath(new URL('./onnx-ir.proto', import.meta.url)));
    modelProtoType = root.lookupType('onnx.ModelProto');
  }
  return modelProtoType;
}

export function encodeModelProto(model: ModelMessage): Uint8Array {
  const type = modelProto();
  // The plain object already has the message's shape and types, so it is encoded directly (no fromObject copy).
  return type.encode(model as unknown as Record<string, unknown>).finish();
}

/** Decodes ModelProto bytes into a plain object (int64 fields as numbers, bytes as Uint8Array). */
export function decodeModelProto(bytes: Uint8Array): Record<string, unknown> {
  const type = modelProto();
  return type.toObject(type.decode(bytes), { longs: Number, defaults: false }) as Record<string, unknown>;
}
