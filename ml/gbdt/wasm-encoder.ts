// A minimal WebAssembly binary encoder: enough to emit the GBDT kernels (one imported memory, a few functions
// of i32 / v128 locals, structured control flow, scalar and SIMD memory operations) from TypeScript at run time.
// No compiler is involved and no binary is stored: the kernels are generated per dataset layout, as the
// JavaScript ones before them were, with the layout's constants baked in as immediates.

/** The slice of the WebAssembly JavaScript API used here (the project's TypeScript lib has no WebAssembly types). */
export interface WasmMemory {
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
}
/** A compiled module: opaque, and cloneable to worker threads. */
export type WasmModule = object;
interface WasmApi {
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: object) => { exports: Record<string, unknown> };
  Memory: new (descriptor: { initial: number; maximum?: number; shared?: boolean }) => WasmMemory;
}
export const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
/** Bytes of a WebAssembly page. */
export const WASM_PAGE = 65536;

export const I32 = 0x7f;
export const I64 = 0x7e;
export const F32 = 0x7d;
export const F64 = 0x7c;
export const V128 = 0x7b;
export type ValueType = typeof I32 | typeof I64 | typeof F32 | typeof F64 | typeof V128;

function unsignedLeb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n = Math.floor(n / 128);
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

function signedLeb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

function name(s: string): number[] {
  const bytes = [...new TextEncoder().encode(s)];
  return [...unsignedLeb(bytes.length), ...bytes];
}

function vector(items: number[][]): number[] {
  return [...unsignedLeb(items.length), ...items.flat()];
}

function section(id: number, body: number[]): number[] {
  return [id, ...unsignedLeb(body.length), ...body];
}

/** A function body under construction: one method per instruction used by the kernels. */
export class Code {
  readonly bytes: number[] = [];
  private readonly locals: ValueType[] = [];

  constructor(private readonly paramCount: number) {}

  /** Declares a local (after the parameters) and returns its index. */
  local(type: ValueType): number {
    this.locals.push(type);
    return this.paramCount + this.locals.length - 1;
  }

  get localDeclarations(): number[] {
    return vector(this.locals.map((t) => [1, t]));
  }

  private emit(...b: number[]): this {
    for (const x of b) this.bytes.push(x);
    return this;
  }

  private memarg(align: number, offset: number): number[] {
    return [...unsignedLeb(align), ...unsignedLeb(offset)];
  }

  private simd(op: number, ...rest: number[]): this {
    return this.emit(0xfd, ...unsignedLeb(op), ...rest);
  }

  block(): this { return this.emit(0x02, 0x40); }
  loop(): this { return this.emit(0x03, 0x40); }
  if(): this { return this.emit(0x04, 0x40); }
  else(): this { return this.emit(0x05); }
  end(): this { return this.emit(0x0b); }
  br(depth: number): this { return this.emit(0x0c, ...unsignedLeb(depth)); }
  brIf(depth: number): this { return this.emit(0x0d, ...unsignedLeb(depth)); }
  select(): this { return this.emit(0x1b); }
  get(i: number): this { return this.emit(0x20, ...unsignedLeb(i)); }
  set(i: number): this { return this.emit(0x21, ...unsignedLeb(i)); }
  tee(i: number): this { return this.emit(0x22, ...unsignedLeb(i)); }
  i32Load(offset = 0): this { return this.emit(0x28, ...this.memarg(2, offset)); }
  i64Load(offset = 0): this { return this.emit(0x29, ...this.memarg(3, offset)); }
  f32Load(offset = 0): this { return this.emit(0x2a, ...this.memarg(2, offset)); }
  f64Load(offset = 0): this { return this.emit(0x2b, ...this.memarg(3, offset)); }
  i32Load8u(offset = 0): this { return this.emit(0x2d, ...this.memarg(0, offset)); }
  i32Load16u(offset = 0): this { return this.emit(0x2f, ...this.memarg(1, offset)); }
  i32Store8(offset = 0): this { return this.emit(0x3a, ...this.memarg(0, offset)); }
  i32Store16(offset = 0): this { return this.emit(0x3b, ...this.memarg(1, offset)); }
  i32Store(offset = 0): this { return this.emit(0x36, ...this.memarg(2, offset)); }
  i64Store(offset = 0): this { return this.emit(0x37, ...this.memarg(3, offset)); }
  f32Store(offset = 0): this { return this.emit(0x38, ...this.memarg(2, offset)); }
  f64Store(offset = 0): this { return this.emit(0x39, ...this.memarg(3, offset)); }
  i32Const(n: number): this { return this.emit(0x41, ...signedLeb(n)); }
  i64Const(n: number): this { return this.emit(0x42, ...signedLeb(n)); }
  f64Const(x: number): this {
    const bytes = new Uint8Array(new Float64Array([x]).buffer);
    return this.emit(0x44, ...bytes);
  }
  return(): this { return this.emit(0x0f); }
  i32Eqz(): this { return this.emit(0x45); }
  i32Ne(): this { return this.emit(0x47); }
  i32LtS(): this { return this.emit(0x48); }
  i32LtU(): this { return this.emit(0x49); }
  i32GtU(): this { return this.emit(0x4b); }
  i32GtS(): this { return this.emit(0x4a); }
  i32LeS(): this { return this.emit(0x4c); }
  i32GeS(): this { return this.emit(0x4e); }
  i32GeU(): this { return this.emit(0x4f); }
  i32Eq(): this { return this.emit(0x46); }
  i32Add(): this { return this.emit(0x6a); }
  i32Sub(): this { return this.emit(0x6b); }
  i32Mul(): this { return this.emit(0x6c); }
  i32Shl(): this { return this.emit(0x74); }
  i32And(): this { return this.emit(0x71); }
  i32Or(): this { return this.emit(0x72); }
  i32ShrU(): this { return this.emit(0x76); }
  i64Shl(): this { return this.emit(0x86); }
  i64ShrU(): this { return this.emit(0x88); }
  f64Eq(): this { return this.emit(0x61); }
  f64Lt(): this { return this.emit(0x63); }
  f64Gt(): this { return this.emit(0x64); }
  f64Ge(): this { return this.emit(0x66); }
  f64Abs(): this { return this.emit(0x99); }
  f64Neg(): this { return this.emit(0x9a); }
  f64Add(): this { return this.emit(0xa0); }
  f64Sub(): this { return this.emit(0xa1); }
  f64Mul(): this { return this.emit(0xa2); }
  f64Div(): this { return this.emit(0xa3); }
  i32WrapI64(): this { return this.emit(0xa7); }
  i32TruncF64S(): this { return this.emit(0xaa); }
  i64ExtendI32U(): this { return this.emit(0xad); }
  f64ConvertI32S(): this { return this.emit(0xb7); }
  i64ReinterpretF64(): this { return this.emit(0xbd); }
  f64ReinterpretI64(): this { return this.emit(0xbf); }
  f32DemoteF64(): this { return this.emit(0xb6); }
  f64PromoteF32(): this { return this.emit(0xbb); }
  /** memory.fill(dest, value, length). */
  memoryFill(): this { return this.emit(0xfc, 0x0b, 0x00); }
  v128Load(offset = 0): this { return this.simd(0x00, ...this.memarg(4, offset)); }
  v128Store(offset = 0): this { return this.simd(0x0b, ...this.memarg(4, offset)); }
  v128Load64Zero(offset = 0): this { return this.simd(0x5d, ...this.memarg(3, offset)); }
  f64x2PromoteLowF32x4(): this { return this.simd(0x5f); }
  f64x2Add(): this { return this.simd(0xf0); }
  f64x2Sub(): this { return this.simd(0xf1); }
}

export interface FunctionSpec {
  name: string;
  params: ValueType[];
  results: ValueType[];
  code: Code;
}

/**
 * A module importing one memory as env.memory (shared when `shared`, then of fixed size `pages`) and exporting
 * the given functions.
 */
export function encodeModule(functions: FunctionSpec[], memory: { pages: number; shared: boolean }): Uint8Array {
  const types = functions.map((f) => [0x60, ...vector(f.params.map((t) => [t])), ...vector(f.results.map((t) => [t]))]);
  const limits = memory.shared ? [0x03, ...unsignedLeb(memory.pages), ...unsignedLeb(memory.pages)] : [0x01, ...unsignedLeb(memory.pages), ...unsignedLeb(memory.pages)];
  const imports = vector([[...name('env'), ...name('memory'), 0x02, ...limits]]);
  const declared = vector(functions.map((_, i) => unsignedLeb(i)));
  const exports = vector(functions.map((f, i) => [...name(f.name), 0x00, ...unsignedLeb(i)]));
  const bodies = vector(functions.map((f) => {
    const body = [...f.code.localDeclarations, ...f.code.bytes, 0x0b];
    return [...unsignedLeb(body.length), ...body];
  }));
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vector(types)),
    ...section(2, imports),
    ...section(3, declared),
    ...section(7, exports),
    ...section(10, bodies),
  ]);
}
