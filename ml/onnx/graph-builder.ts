// A small helper that accumulates ONNX nodes, constant tensors and graph inputs/outputs with unique names.
import {
  OnnxAttributeType,
  OnnxDataType,
  type AttributeMessage,
  type GraphMessage,
  type NodeMessage,
  type TensorMessage,
  type ValueInfoMessage,
} from './onnx-proto.js';

export const ML_DOMAIN = 'ai.onnx.ml';

/** Attribute values accepted by `node()`; arrays of numbers are written as INTS unless wrapped. */
export type AttributeValue =
  | { float: number }
  | { int: number }
  | { string: string }
  | { floats: number[] }
  | { ints: number[] }
  | { strings: string[] }
  | { tensor: TensorMessage };

const utf8 = new TextEncoder();

function toAttribute(name: string, value: AttributeValue): AttributeMessage {
  if ('float' in value) return { name, type: OnnxAttributeType.FLOAT, f: value.float };
  if ('int' in value) return { name, type: OnnxAttributeType.INT, i: value.int };
  if ('string' in value) return { name, type: OnnxAttributeType.STRING, s: utf8.encode(value.string) };
  if ('floats' in value) return { name, type: OnnxAttributeType.FLOATS, floats: value.floats };
  if ('ints' in value) return { name, type: OnnxAttributeType.INTS, ints: value.ints };
  if ('strings' in value) {
    return { name, type: OnnxAttributeType.STRINGS, strings: value.strings.map((s) => utf8.encode(s)) };
  }
  return { name, type: OnnxAttributeType.TENSOR, t: value.tensor };
}

function bytesOf(view: ArrayBufferView): Uint8Array {
  // ONNX raw_data is little-endian, which is what typed arrays hold on every platform Node supports.
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

export function floatTensor(values: ArrayLike<number>, dims: number[], name?: string): TensorMessage {
  return { name, dims, dataType: OnnxDataType.FLOAT, rawData: bytesOf(Float32Array.from(values)) };
}

export function doubleTensor(values: ArrayLike<number>, dims: number[], name?: string): TensorMessage {
  return { name, dims, dataType: OnnxDataType.DOUBLE, rawData: bytesOf(Float64Array.from(values)) };
}

export function uint8Tensor(values: ArrayLike<number>, dims: number[], name?: string): TensorMessage {
  return { name, dims, dataType: OnnxDataType.UINT8, rawData: bytesOf(Uint8Array.from(values)) };
}

export function int64Tensor(values: ArrayLike<number>, dims: number[], name?: string): TensorMessage {
  const data = new BigInt64Array(values.length);
  for (let i = 0; i < values.length; i++) data[i] = BigInt(values[i]);
  return { name, dims, dataType: OnnxDataType.INT64, rawData: bytesOf(data) };
}

function valueInfo(name: string, elemType: number, dims: (number | string)[]): ValueInfoMessage {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

export class GraphBuilder {
  private readonly nodes: NodeMessage[] = [];
  private readonly initializers: TensorMessage[] = [];
  private readonly inputs: ValueInfoMessage[] = [];
  private readonly outputs: ValueInfoMessage[] = [];
  private readonly used = new Set<string>();
  private counter = 0;

  /** Returns a value name not used before, derived from `hint`. */
  fresh(hint: string): string {
    let name = `${hint}_${this.counter++}`;
    while (this.used.has(name)) name = `${hint}_${this.counter++}`;
    this.used.add(name);
    return name;
  }

  input(name: string, elemType: number, dims: (number | string)[]): string {
    if (this.used.has(name)) throw new Error(`duplicate graph input name "${name}"`);
    this.used.add(name);
    this.inputs.push(valueInfo(name, elemType, dims));
    return name;
  }

  output(name: string, elemType: number, dims: (number | string)[]): void {
    this.outputs.push(valueInfo(name, elemType, dims));
  }

  /** Adds a constant tensor and returns its value name. */
  constant(hint: string, tensor: TensorMessage): string {
    const name = this.fresh(hint);
    this.initializers.push({ ...tensor, name });
    return name;
  }

  /** Adds a node with one output and returns the output's value name (or `outputName` when given). */
  node(
    opType: string,
    inputs: string[],
    attributes: Record<string, AttributeValue> = {},
    options: { domain?: string; outputName?: string } = {},
  ): string {
    const output = options.outputName ?? this.fresh(opType.toLowerCase());
    if (options.outputName !== undefined) {
      if (this.used.has(output)) throw new Error(`duplicate value name "${output}"`);
      this.used.add(output);
    }
    this.nodes.push({
      input: inputs,
      output: [output],
      name: this.fresh(`node_${opType}`),
      opType,
      domain: options.domain ?? '',
      attribute: Object.entries(attributes).map(([name, value]) => toAttribute(name, value)),
    });
    return output;
  }

  build(name: string): GraphMessage {
    return { name, node: this.nodes, initializer: this.initializers, input: this.inputs, output: this.outputs };
  }
}
