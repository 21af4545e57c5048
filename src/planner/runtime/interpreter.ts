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
import { ArenaExhaustedError, KdpError, ShapeError } from '../../errors.js';
import type { TensorInfo } from '../manifest.js';
import { alignUp, planGreedy } from './memory-planner.js';
import type { BindContext, OpUnit } from './ops/op-unit.js';
import type { OpResolver } from './ops/op-resolver.js';
import { prepareGraph, type Node, type Numerics, type PreparedGraph, SUPPORTED_OPS } from './prepare.js';
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
  /** The op resolver to look ops up in (ops/op-resolver.ts; default: every builtin op, or `ops`). */
  resolver?: OpResolver;
  /**
   * Integer numerics: 'xnnpack' (default; bit-identical to TFLite with its XNNPACK delegate — what
   * tfjs-tflite and TFLite on ARM run by default) or 'tflite' (TFLite reference kernels: fixed-point
   * multiplier + shift). See ops/op-unit.ts `Numerics`.
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

/** A boundary tensor as the manifest records it, plus what the loaded graph adds. */
export type BoundaryInfo = TensorInfo & {
  /** the tensor's name in the graph (`name` is the signature name when the model has one) */
  tensorName: string;
  /** element count */
  length: number;
};

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
      ...(opts.ops ? { ops: opts.ops } : {}), ...(opts.resolver ? { resolver: opts.resolver } : {}), ...(opts.batch !== undefined ? { batch: opts.batch } : {}), numerics: opts.numerics ?? 'xnnpack',
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

  inputInfo(i: number): BoundaryInfo { return info(this.boundary('input', i)); }
  outputInfo(i: number): BoundaryInfo { return info(this.boundary('output', i)); }
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

    const bc: BindContext = { abs, buffer, wasm: this.wasm };
    const units = this.prepared.nodeUnits;
    this.steps = this.backend === 'native'
      ? bindNative(nodes, units, requireNative(), this.nativeVariant!, bc)
      : nodes.map((n, k) => (this.backend === 'wasm' ? units[k]!.bindWasm(n, bc) : units[k]!.bindReference(n, bc)));
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

function info(b: PreparedGraph['inputs'][number]): BoundaryInfo {
  return { name: b.name, tensorName: b.tensorName, shape: b.shape.slice(), dtype: b.dtype, length: b.shape.reduce((a, d) => a * d, 1) };
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
 * The native backend: nodes whose unit has a native form (FULLY_CONNECTED) are registered once with the
 * native module (arena offsets resolved to pointers there) and each run of consecutive ones becomes ONE
 * call, `run(ctx, from, to)`; every other node is bound to the WASM kernels.
 */
function bindNative(nodes: readonly Node[], units: readonly OpUnit[], addon: NativeAddon, variant: string, bc: BindContext): Array<() => void> {
  let ctx: object;
  try {
    ctx = addon.createContext(bc.buffer, variant);
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
  nodes.forEach((n, k) => {
    const unit = units[k]!;
    const d = unit.bindNative ? unit.bindNative(n, bc) : null;
    if (!d) {
      flush();
      steps.push(unit.bindWasm(n, bc));
      return;
    }
    let id: number;
    try {
      id = addon.addOp(ctx, Int32Array.from(d.ints), Float32Array.from(d.floats));
    } catch (e) {
      throw new KdpError('E_INTERNAL', `native kernels refused operator ${n.op}: ${(e as Error).message}`, { hint: 'report a bug; KDP_KERNELS=wasm works around it' });
    }
    if (from < 0) from = id;
    to = id + 1;
  });
  flush();
  return steps;
}
