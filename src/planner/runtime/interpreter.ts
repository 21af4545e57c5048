/**
 * The kdp-edge interpreter: a TFLite-subset runtime shaped like TFLite Micro.
 *
 * Lifecycle and ownership
 *   1. `Interpreter.fromBytes(bytes, opts)` parses and validates the model (every op, type, shape and
 *      quantization rule). Unsupported ops/types throw ModelError('E_MODEL_UNSUPPORTED_OP') naming them.
 *      Nothing is allocated for tensors yet. The interpreter keeps no reference to `bytes`.
 *   2. `allocate()` plans ONE arena (persistent blocks + activations placed greedily by lifetime),
 *      grows the WASM memory once to hold it, copies packed weights in, and binds every kernel to fixed
 *      offsets. Typed-array views (inputView/outputView) are created here and stay valid for the life of
 *      the interpreter (the memory never grows again).
 *   3. `invoke()` runs the bound kernels in order. It never allocates, never throws on data (garbage
 *      in, garbage out, like TFLite Micro), and never grows memory.
 *
 * Inputs and outputs are float32 tensors `[batch, ...]` in signature order. Either copy with
 * `setInput(i, src)` / `readOutput(i, dst)` (length-checked), or write/read the views from
 * `inputView(i)` / `outputView(i)` directly (zero copies; the views alias the arena).
 */
import { ArenaExhaustedError, KdpError, ModelError, ShapeError } from '../../errors.js';
import { alignUp, planGreedy } from './memory-planner.js';
import { I6_OFFSET } from './i6-layout.js';
import { prepareGraph, type Node, type Numerics, type PreparedGraph, type Region, SUPPORTED_OPS } from './prepare.js';
import * as ref from './reference-kernels.js';
import { parseTflite, type GraphDef } from './tflite-model.js';
import { relaxedModule } from './relaxed-simd.js';
import { kernelSelection, nativeStatus, requireNative, type NativeAddon } from './native-kernels.js';
import { instantiateKernels, WASM_PAGE, type KernelInstance } from './wasm-kernels.js';

export type Backend = 'wasm' | 'native' | 'reference';
export type { Numerics };

export interface InterpreterOptions {
  /**
   * 'native': the FULLY_CONNECTED ops on the native module (native-kernels.ts), everything else on the
   * WASM kernels, arena inside the WASM memory. 'wasm': WebAssembly SIMD kernels only. 'reference':
   * plain TS. Default: KDP_KERNELS when set, else native where it runs on this CPU, else wasm
   * (`kernelSelection()` says which and why).
   */
  backend?: Backend;
  /** Run with this batch (dim 0) instead of the exported one; every supported op is batch-agnostic. */
  batch?: number;
  /** Restrict the op resolver to these op names (default: all supported ops). */
  ops?: readonly string[];
  /**
   * Integer numerics: 'xnnpack' (default; bit-identical to TFLite with its XNNPACK delegate — what
   * tfjs-tflite and TFLite on ARM run by default) or 'tflite' (TFLite reference kernels: fixed-point
   * multiplier + shift). See prepare.ts `Numerics`.
   */
  numerics?: Numerics;
  /**
   * wasm backend: run int8 FCs whose weights are 6-bit (`kdp export --weight-bits 6`) on the
   * relaxed-SIMD kernel when the engine has it (default true; relaxed-simd.ts). Same results.
   * reference backend: default false; true runs that kernel's packed layout in TypeScript.
   */
  relaxedSimd?: boolean;
  /** native backend: run this variant (e.g. 'avx2', 'scalar') instead of the best one for this CPU */
  nativeVariant?: string;
  /** Upper bound for the arena (bytes); allocate() throws ArenaExhaustedError beyond it. Default 256 MiB. */
  arenaLimitBytes?: number;
}

export interface TensorInfo {
  name: string;
  tensorName: string;
  shape: number[];
  dtype: 'float32';
  length: number;
}

export interface ArenaReport {
  /** total bytes of the arena (persistent + planned + slack) */
  arenaBytes: number;
  /** packed weights, biases, lookup tables, constant operands */
  persistentBytes: number;
  /** activations and scratch, overlapped by the greedy planner */
  plannedBytes: number;
  /** sum of planned buffer sizes without overlap (what a naive allocator would need) */
  unplannedBytes: number;
  regions: Array<{ name: string; offset: number; bytes: number; persistent: boolean; firstUse: number; lastUse: number }>;
}

const DEFAULT_ARENA_LIMIT = 256 * 1024 * 1024;
/** The int8 kernels may read up to 16 bytes past a row; the arena ends with this much slack. */
const ARENA_SLACK = 64;

export class Interpreter {
  readonly backend: Backend;
  readonly batch: number;
  readonly modelBatch: number;
  readonly numerics: Numerics;
  /** whether 6-bit-weight FCs run on the relaxed-SIMD kernel (see kernelKinds for which did) */
  readonly relaxed: boolean;
  private readonly prepared: PreparedGraph;
  private readonly arenaLimit: number;
  private steps: Array<() => void> = [];
  private inViews: Float32Array[] = [];
  private outViews: Float32Array[] = [];
  private report: ArenaReport | null = null;
  private wasm: KernelInstance | null = null;
  /** which kernels run and why (for reports) */
  readonly kernelsWhy: string;
  /** native backend: the variant its FULLY_CONNECTED kernels run (e.g. 'avx512vnni') */
  readonly nativeVariant: string | null;

  private constructor(readonly graph: GraphDef, opts: InterpreterOptions) {
    const sel = opts.backend === undefined ? kernelSelection() : null;
    this.backend = opts.backend ?? sel!.backend;
    if (this.backend !== 'wasm' && this.backend !== 'reference' && this.backend !== 'native') throw new KdpError('E_USAGE', `unknown backend "${String(this.backend)}"`, { hint: 'use native, wasm or reference' });
    this.nativeVariant = this.backend === 'native' ? pickVariant(opts.nativeVariant) : null;
    this.kernelsWhy = sel ? sel.why : this.backend === 'native'
      ? (opts.nativeVariant ? `native ${this.nativeVariant}: requested` : `native ${nativeStatus().detail}; requested`)
      : `${this.backend} kernels; requested`;
    // wasm: on by default where the engine has it; reference: only on request (runs the same packed
    // layout in TypeScript, so tests can check the packing independently of the WASM kernel)
    this.relaxed = this.backend === 'wasm' ? opts.relaxedSimd !== false && relaxedModule() !== null : opts.relaxedSimd === true;
    this.prepared = prepareGraph(graph, {
      ...(opts.ops ? { ops: opts.ops } : {}), ...(opts.batch !== undefined ? { batch: opts.batch } : {}), numerics: opts.numerics ?? 'xnnpack',
      relaxedI6: this.relaxed,
      ...(this.backend === 'native' ? { native: { xOffset: nativeStatus().xOffset } } : {}),
    });
    this.numerics = opts.numerics ?? 'xnnpack';
    this.batch = this.prepared.batch;
    this.modelBatch = this.prepared.modelBatch;
    this.arenaLimit = opts.arenaLimitBytes ?? DEFAULT_ARENA_LIMIT;
  }

  /** Parse + validate a .tflite file. Throws ModelError (typed) for anything it cannot run. */
  static fromBytes(bytes: Uint8Array, opts: InterpreterOptions = {}): Interpreter {
    return new Interpreter(parseTflite(bytes), opts);
  }

  /** Same as fromBytes for an already parsed graph. */
  static fromGraph(graph: GraphDef, opts: InterpreterOptions = {}): Interpreter {
    return new Interpreter(graph, opts);
  }

  static readonly supportedOps: readonly string[] = SUPPORTED_OPS;

  get inputCount(): number { return this.prepared.inputs.length; }
  get outputCount(): number { return this.prepared.outputs.length; }
  get allocated(): boolean { return this.report !== null; }

  inputInfo(i: number): TensorInfo { return info(this.boundary('input', i)); }
  outputInfo(i: number): TensorInfo { return info(this.boundary('output', i)); }
  /** Kernel per node in execution order (e.g. 'fc_i6' = relaxed-SIMD FC), for reports and tests. */
  get kernelKinds(): readonly string[] { return this.prepared.nodes.map((n) => n.kind); }
  /** Operator names in execution order. */
  get opNames(): readonly string[] { return this.prepared.opNames; }

  /** Plan and create the arena (once; later calls are no-ops). */
  allocate(): this {
    if (this.report) return this;
    const { regions, nodes } = this.prepared;
    // persistent blocks first, sequentially; planned blocks after them, overlapped by lifetime
    const offsets = new Array<number>(regions.length).fill(0);
    let persistentBytes = 0;
    for (const r of regions) {
      if (r.data) { offsets[r.id] = persistentBytes; persistentBytes = alignUp(persistentBytes + r.bytes); }
    }
    const planned = regions.filter((r) => !r.data);
    const plan = planGreedy(planned.map((r) => ({ size: r.bytes, firstUse: r.firstUse, lastUse: r.lastUse })));
    planned.forEach((r, k) => { offsets[r.id] = persistentBytes + plan.offsets[k]!; });
    const arenaBytes = persistentBytes + plan.totalBytes + ARENA_SLACK;
    if (arenaBytes > this.arenaLimit) throw new ArenaExhaustedError(arenaBytes, this.arenaLimit);

    let base = 0;
    let buffer: ArrayBuffer;
    if (this.backend !== 'reference') {
      const w = instantiateKernels(this.relaxed);
      const need = w.base + arenaBytes;
      const have = w.memory.buffer.byteLength;
      if (need > have) w.memory.grow(Math.ceil((need - have) / WASM_PAGE));
      this.wasm = w;
      base = w.base;
      buffer = w.memory.buffer;
    } else {
      buffer = new ArrayBuffer(arenaBytes);
    }
    const u8 = new Uint8Array(buffer);
    const abs = (id: number): number => base + offsets[id]!;
    for (const r of regions) if (r.data) u8.set(r.data, abs(r.id));

    this.steps = this.backend === 'native'
      ? bindNative(nodes, requireNative(), this.nativeVariant!, this.wasm!, abs, buffer)
      : nodes.map((n) => (this.backend === 'wasm' ? bindWasm(n, this.wasm!, abs, buffer) : bindReference(n, abs, buffer, regions)));
    this.inViews = this.prepared.inputs.map((b) => new Float32Array(buffer, abs(b.region), regions[b.region]!.bytes / 4));
    this.outViews = this.prepared.outputs.map((b) => new Float32Array(buffer, abs(b.region), regions[b.region]!.bytes / 4));
    this.report = {
      arenaBytes,
      persistentBytes,
      plannedBytes: plan.totalBytes,
      unplannedBytes: planned.reduce((s, r) => s + alignUp(r.bytes), 0),
      regions: regions.map((r) => ({ name: r.name, offset: offsets[r.id]!, bytes: r.bytes, persistent: r.data !== null, firstUse: r.firstUse, lastUse: r.lastUse })),
    };
    return this;
  }

  /** Arena size in bytes (after allocate()). */
  get arenaBytes(): number { return this.requireAllocated().arenaBytes; }
  arenaReport(): ArenaReport { return this.requireAllocated(); }

  /** Zero-copy view of input i (aliases the arena; valid for the life of the interpreter). */
  inputView(i: number): Float32Array {
    this.requireAllocated();
    const v = this.inViews[i];
    if (!v) throw new ShapeError('input index', `0..${this.inViews.length - 1}`, i);
    return v;
  }

  /** Zero-copy view of output i (aliases the arena; overwritten by the next invoke). */
  outputView(i: number): Float32Array {
    this.requireAllocated();
    const v = this.outViews[i];
    if (!v) throw new ShapeError('output index', `0..${this.outViews.length - 1}`, i);
    return v;
  }

  /** Copy `src` into input i. Its length must equal the input's element count. */
  setInput(i: number, src: ArrayLike<number>): void {
    const v = this.inputView(i);
    if (src.length !== v.length) {
      const b = this.prepared.inputs[i]!;
      throw new ShapeError(`input ${i} "${b.name}" [${b.shape.join(',')}]`, `${v.length} values`, `${src.length}`);
    }
    if (src instanceof Float32Array) v.set(src);
    else for (let k = 0; k < v.length; k++) v[k] = src[k]!;
  }

  /** Copy output i into `dst` (length-checked) and return it. */
  readOutput(i: number, dst: Float32Array): Float32Array {
    const v = this.outputView(i);
    if (dst.length !== v.length) {
      const b = this.prepared.outputs[i]!;
      throw new ShapeError(`output ${i} "${b.name}" [${b.shape.join(',')}] destination`, `${v.length} values`, `${dst.length}`);
    }
    dst.set(v);
    return dst;
  }

  /** Run the graph once. Zero allocation. */
  invoke(): void {
    const steps = this.steps;
    if (this.report === null) this.requireAllocated();
    for (let i = 0; i < steps.length; i++) steps[i]!();
  }

  private requireAllocated(): ArenaReport {
    if (!this.report) throw new KdpError('E_NOT_ALLOCATED', 'the interpreter has no arena yet', { hint: 'call allocate() once before invoke()/inputView()' });
    return this.report;
  }

  private boundary(kind: 'input' | 'output', i: number): PreparedGraph['inputs'][number] {
    const list = kind === 'input' ? this.prepared.inputs : this.prepared.outputs;
    const b = list[i];
    if (!b) throw new ShapeError(`${kind} index`, `0..${list.length - 1}`, i);
    return b;
  }
}

function info(b: PreparedGraph['inputs'][number]): TensorInfo {
  return { name: b.name, tensorName: b.tensorName, shape: b.shape.slice(), dtype: b.dtype, length: b.shape.reduce((a, d) => a * d, 1) };
}

/** Bind a node to the WASM kernels (FC, activations, quantize) or to TS kernels on arena views. */
function bindWasm(n: Node, w: KernelInstance, abs: (id: number) => number, buffer: ArrayBuffer): () => void {
  const k = w.k;
  switch (n.kind) {
    case 'fc_f32': {
      const [x, xi, wt, b, y] = [abs(n.x), abs(n.xi), abs(n.w), n.b >= 0 ? abs(n.b) : 0, abs(n.y)];
      const { rows, inDim, outDim, lo, hi } = n;
      const hasB = n.b >= 0 ? 1 : 0;
      if (rows < 4) return () => k.fc_f32(x, xi, wt, b, y, rows, inDim, outDim, hasB, lo, hi);
      return () => {
        k.interleave_f32(x, xi, rows, inDim);
        k.fc_f32(x, xi, wt, b, y, rows, inDim, outDim, hasB, lo, hi);
      };
    }
    case 'fc_i8': {
      const [x, xs, wt, b, y] = [abs(n.x), abs(n.xs), abs(n.w), n.b >= 0 ? abs(n.b) : 0, abs(n.y)];
      const { rows, inDim, inPad, outDim, inZp, mult, shift, fpScale, outZp, lo, hi } = n;
      const hasB = n.b >= 0 ? 1 : 0;
      const w8 = n.w8 ? 1 : 0;
      return () => {
        k.expand_i8(x, xs, rows, inDim, inPad, inZp);
        k.fc_i8(xs, wt, b, y, rows, inPad, outDim, hasB, mult, shift, fpScale, outZp, lo, hi, w8);
      };
    }
    case 'fc_i6': {
      const r = w.r;
      if (!r) throw new KdpError('E_INTERNAL', 'fc_i6 node without the relaxed-SIMD module', { hint: 'report a bug; set KDP_RELAXED_SIMD=0 to work around it' });
      const [x, xp, corr, wt, b, y] = [abs(n.x), abs(n.xp), abs(n.corr), abs(n.w), abs(n.b), abs(n.y)];
      const { rows, inDim, inPad, outDim, mult, shift, fpScale, outZp, lo, hi } = n;
      return () => {
        r.pack_x(x, xp, corr, rows, inDim, inPad, I6_OFFSET);
        r.fc_i6(xp, corr, wt, b, y, rows, inPad, outDim, mult, shift, fpScale, outZp, lo, hi);
      };
    }
    case 'clamp_f32': { const [x, y, c, lo, hi] = [abs(n.x), abs(n.y), n.count, n.lo, n.hi]; return () => k.clamp_f32(x, y, c, lo, hi); }
    case 'tanh_f32': { const [x, y, c] = [abs(n.x), abs(n.y), n.count]; return () => k.tanh_f32(x, y, c); }
    case 'logistic_f32': { const [x, y, c] = [abs(n.x), abs(n.y), n.count]; return () => k.logistic_f32(x, y, c); }
    case 'lut_i8': { const [x, y, c, l] = [abs(n.x), abs(n.y), n.count, abs(n.lut)]; return () => k.lut_i8(x, y, c, l); }
    case 'quantize': { const [x, y, c, s, inv, z] = [abs(n.x), abs(n.y), n.count, n.scale, n.invScale, n.zp]; return () => k.quantize_f32_i8(x, y, c, s, inv, z); }
    case 'dequantize': { const [x, y, c, s, z] = [abs(n.x), abs(n.y), n.count, n.scale, n.zp]; return () => k.dequantize_i8_f32(x, y, c, s, z); }
    case 'add_f32': case 'mul_f32': {
      const [a, b, y, c, na, nb, lo, hi] = [abs(n.a), abs(n.b), abs(n.y), n.count, n.countA, n.countB, n.lo, n.hi];
      return n.kind === 'add_f32' ? () => k.add_f32(a, b, y, c, na, nb, lo, hi) : () => k.mul_f32(a, b, y, c, na, nb, lo, hi);
    }
    case 'add_i8': {
      const [a, b, y, c, na, nb] = [abs(n.a), abs(n.b), abs(n.y), n.count, n.countA, n.countB];
      const p = n.p;
      const [aZp, bZp, ls, am, as, bm, bs, om, os, oz, lo, hi] = [p.aZp, p.bZp, p.leftShift, p.aMult, p.aShift, p.bMult, p.bShift, p.outMult, p.outShift, p.outZp, p.lo, p.hi];
      return () => k.add_i8(a, b, y, c, na, nb, aZp, bZp, ls, am, as, bm, bs, om, os, oz, lo, hi);
    }
    case 'mul_i8': {
      const [a, b, y, c, na, nb] = [abs(n.a), abs(n.b), abs(n.y), n.count, n.countA, n.countB];
      const p = n.p;
      const [aZp, bZp, m, sh, fp, oz, lo, hi] = [p.aZp, p.bZp, p.mult, p.shift, p.fpScale, p.outZp, p.lo, p.hi];
      return () => k.mul_i8(a, b, y, c, na, nb, aZp, bZp, m, sh, fp, oz, lo, hi);
    }
    case 'copy': {
      const [x, y, bytes] = [abs(n.x), abs(n.y), n.bytes];
      return () => k.copy_rows(x, y, 1, bytes, 0);
    }
    case 'concat': {
      if (n.scaled) return bindShared(n, abs, buffer);
      const el = n.dtype === 'float32' ? 4 : 1;
      const rowBytes = n.chunks.reduce((s, c) => s + c, 0) * el;
      const parts = n.parts.map((p, i) => {
        const before = n.chunks.slice(0, i).reduce((s, c) => s + c, 0) * el;
        return { src: abs(p), dst: abs(n.y) + before, chunk: n.chunks[i]! * el };
      });
      const outer = n.outer;
      if (parts.length === 2) {
        const [p0, p1] = [parts[0]!, parts[1]!];
        return () => { k.copy_rows(p0.src, p0.dst, outer, p0.chunk, rowBytes); k.copy_rows(p1.src, p1.dst, outer, p1.chunk, rowBytes); };
      }
      const src = Int32Array.from(parts.map((p) => p.src));
      const dst = Int32Array.from(parts.map((p) => p.dst));
      const chunk = Int32Array.from(parts.map((p) => p.chunk));
      return () => { for (let i = 0; i < src.length; i++) k.copy_rows(src[i]!, dst[i]!, outer, chunk[i]!, rowBytes); };
    }
    default: return bindShared(n, abs, buffer);
  }
}

/** The native variant to run: the requested one if this CPU supports it, else the selected best one. */
function pickVariant(want: string | undefined): string {
  const addon = requireNative();
  if (want === undefined) return nativeStatus().variant!;
  const v = addon.variants().variants.find((x) => x.name === want);
  if (!v || !v.supported) {
    throw new KdpError('E_NATIVE_UNAVAILABLE', `native kernel variant "${want}" ${v ? 'is not supported by this CPU' : 'does not exist'}`,
      { hint: `supported here: ${addon.variants().variants.filter((x) => x.supported).map((x) => x.name).join(', ')}` });
  }
  return want;
}

/**
 * The native backend: FULLY_CONNECTED nodes are registered once with the native module (arena offsets
 * resolved to pointers there) and each run of consecutive ones becomes ONE call, `run(ctx, from, to)`;
 * every other node is bound to the WASM kernels as in bindWasm.
 */
function bindNative(nodes: readonly Node[], addon: NativeAddon, variant: string, w: KernelInstance, abs: (id: number) => number, buffer: ArrayBuffer): Array<() => void> {
  let ctx: object;
  try {
    ctx = addon.createContext(buffer, variant);
  } catch (e) {
    throw new KdpError('E_NATIVE_UNAVAILABLE', `native kernels: ${(e as Error).message}`, { hint: 'use KDP_KERNELS=wasm' });
  }
  const steps: Array<() => void> = [];
  let from = -1;
  let to = -1;
  const flush = (): void => {
    if (from < 0) return;
    const [f, t] = [from, to];
    steps.push(() => addon.run(ctx, f, t));
    from = -1;
  };
  for (const n of nodes) {
    let ints: number[];
    let floats: number[];
    if (n.kind === 'fc_q8n') {
      ints = [1, abs(n.x), abs(n.xp), abs(n.w), abs(n.b), abs(n.y), n.rows, n.inDim, n.inPad, n.outDim, n.mult, n.shift, n.outZp, n.lo, n.hi, n.i6 ? 1 : 0];
      floats = [n.fpScale, 0, 0];
    } else if (n.kind === 'fc_f32') {
      ints = [2, abs(n.x), 0, abs(n.w), n.b >= 0 ? abs(n.b) : -1, abs(n.y), n.rows, n.inDim, n.inDim, n.outDim, 0, 0, 0, 0, 0, 0];
      floats = [0, n.lo, n.hi];
    } else {
      flush();
      steps.push(bindWasm(n, w, abs, buffer));
      continue;
    }
    let id: number;
    try {
      id = addon.addOp(ctx, Int32Array.from(ints), Float32Array.from(floats));
    } catch (e) {
      throw new KdpError('E_INTERNAL', `native kernels refused operator ${n.op}: ${(e as Error).message}`, { hint: 'report a bug; KDP_KERNELS=wasm works around it' });
    }
    if (from < 0) from = id;
    to = id + 1;
  }
  flush();
  return steps;
}

/** Bind a node to the plain TypeScript kernels. */
function bindReference(n: Node, abs: (id: number) => number, buffer: ArrayBuffer, regions: Region[]): () => void {
  const f32 = (id: number, count: number): Float32Array => new Float32Array(buffer, abs(id), count);
  const i8 = (id: number, count: number): Int8Array => new Int8Array(buffer, abs(id), count);
  switch (n.kind) {
    case 'fc_f32': {
      const x = f32(n.x, n.rows * n.inDim);
      const w = f32(n.w, Math.ceil(n.outDim / 8) * 8 * n.inDim);
      const b = n.b >= 0 ? f32(n.b, n.outDim) : null;
      const y = f32(n.y, n.rows * n.outDim);
      const { rows, inDim, outDim, lo, hi } = n;
      return () => ref.fcF32(x, w, b, y, rows, inDim, outDim, lo, hi);
    }
    case 'fc_i8': {
      const x = i8(n.x, n.rows * n.inDim);
      const wCount = Math.ceil(n.outDim / 8) * 8 * n.inPad;
      const w = n.w8 ? new Int8Array(buffer, abs(n.w), wCount) : new Int16Array(buffer, abs(n.w), wCount);
      const b = n.b >= 0 ? new Int32Array(buffer, abs(n.b), n.outDim) : null;
      const y = i8(n.y, n.rows * n.outDim);
      const { rows, inDim, inPad, outDim, inZp, mult, shift, fpScale, outZp, lo, hi } = n;
      return () => ref.fcI8(x, w, b, y, rows, inDim, inPad, outDim, inZp, mult, shift, fpScale, outZp, lo, hi);
    }
    case 'fc_i6': {
      const x = i8(n.x, n.rows * n.inDim);
      const w = new Uint8Array(buffer, abs(n.w), Math.ceil(n.outDim / 8) * 8 * n.inPad);
      const b = new Int32Array(buffer, abs(n.b), n.outDim);
      const y = i8(n.y, n.rows * n.outDim);
      const { rows, inDim, inPad, outDim, mult, shift, fpScale, outZp, lo, hi } = n;
      return () => ref.fcI6(x, w, b, y, rows, inDim, inPad, outDim, mult, shift, fpScale, outZp, lo, hi);
    }
    case 'clamp_f32': { const x = f32(n.x, n.count), y = f32(n.y, n.count); const { lo, hi } = n; return () => ref.clampF32(x, y, lo, hi); }
    case 'tanh_f32': { const x = f32(n.x, n.count), y = f32(n.y, n.count); return () => ref.tanhF32(x, y); }
    case 'logistic_f32': { const x = f32(n.x, n.count), y = f32(n.y, n.count); return () => ref.logisticF32(x, y); }
    case 'lut_i8': { const x = i8(n.x, n.count), y = i8(n.y, n.count), l = i8(n.lut, 256); return () => ref.lutI8(x, y, l); }
    case 'quantize': { const x = f32(n.x, n.count), y = i8(n.y, n.count); const { scale, invScale, zp } = n; return () => ref.quantizeF32I8(x, y, scale, invScale, zp); }
    case 'dequantize': { const x = i8(n.x, n.count), y = f32(n.y, n.count); const { scale, zp } = n; return () => ref.dequantizeI8F32(x, y, scale, zp); }
    default: void regions; return bindShared(n, abs, buffer);
  }
}

/** TypeScript kernels on arena views: the reference backend's ADD/MUL/CONCATENATION/RESHAPE, and the WASM backend's int8 CONCATENATION with rescaling. */
function bindShared(n: Node, abs: (id: number) => number, buffer: ArrayBuffer): () => void {
  const f32 = (id: number, count: number): Float32Array => new Float32Array(buffer, abs(id), count);
  const i8 = (id: number, count: number): Int8Array => new Int8Array(buffer, abs(id), count);
  switch (n.kind) {
    case 'copy': {
      const u8 = new Uint8Array(buffer);
      const [x, y, bytes] = [abs(n.x), abs(n.y), n.bytes];
      return () => { u8.copyWithin(y, x, x + bytes); };
    }
    case 'add_f32': case 'mul_f32': {
      const a = f32(n.a, n.countA), b = f32(n.b, n.countB), y = f32(n.y, n.count);
      const { lo, hi } = n;
      return n.kind === 'add_f32' ? () => ref.addF32(a, b, y, lo, hi) : () => ref.mulF32(a, b, y, lo, hi);
    }
    case 'add_i8': { const a = i8(n.a, n.countA), b = i8(n.b, n.countB), y = i8(n.y, n.count); const p = n.p; return () => ref.addI8(a, b, y, p); }
    case 'mul_i8': { const a = i8(n.a, n.countA), b = i8(n.b, n.countB), y = i8(n.y, n.count); const p = n.p; return () => ref.mulI8(a, b, y, p); }
    case 'concat': {
      const { outer, chunks } = n;
      if (n.dtype === 'float32') {
        const parts = n.parts.map((p, k) => f32(p, n.partCounts[k]!));
        const y = f32(n.y, n.count);
        return () => ref.concatCopy(parts, chunks, y, outer);
      }
      const parts = n.parts.map((p, k) => i8(p, n.partCounts[k]!));
      const y = i8(n.y, n.count);
      const s = n.scaled;
      if (s) return () => ref.concatI8Scaled(parts, chunks, y, outer, s.scales, s.zps, s.outScale, s.outZp);
      return () => ref.concatCopy(parts, chunks, y, outer);
    }
    default:
      throw new ModelError('E_MODEL_UNSUPPORTED_OP', `internal: no kernel bound for ${n.kind}`);
  }
}
