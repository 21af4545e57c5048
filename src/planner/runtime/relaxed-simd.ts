/**
 * The optional relaxed-SIMD kernel module (build/wasm/kdp_kernels_relaxed.wasm, from
 * src/wasm/kdp_kernels_relaxed.ts): int8 FULLY_CONNECTED for 6-bit weights on 8-bit dot products.
 *
 * Node 20's V8 (11.3) implements relaxed SIMD behind --experimental-wasm-relaxed-simd; Node 22+ ships
 * it. So: validate the module as is; if the engine refuses it, turn the flag on (it only widens what
 * the wasm validator accepts) and validate again. Then check the one instruction we rely on against
 * exact integer products on adversarial lanes, because "relaxed" means engine-defined outside the
 * documented range and a wrong answer here must mean "not used", never a wrong plan. (The fused
 * i32x4.relaxed_dot_i8x16_i7x16_add_s is not used: V8 11.3 on x64 returns twice the dot product.)
 *
 * KDP_RELAXED_SIMD=0 in the environment, or `relaxedSimd: false` in InterpreterOptions, disables it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';

export const RELAXED_WASM_PATH = fileURLToPath(new URL('../../../build/wasm/kdp_kernels_relaxed.wasm', import.meta.url));

export interface RelaxedExports {
  probe_dot(a: number, b: number, out: number): void;
  pack_x(x: number, xp: number, corr: number, n: number, inDim: number, inPad: number, offset: number): void;
  fc_i6(xp: number, corr: number, w: number, bias: number, y: number, n: number, inPad: number, outDim: number,
    mult: number, shift: number, fpScale: number, outZp: number, lo: number, hi: number): void;
}

export interface RelaxedStatus {
  available: boolean;
  /** why not, or how it was enabled */
  detail: string;
}

let state: { module: WebAssembly.Module | null; status: RelaxedStatus } | undefined;

/** The compiled module (once per process), or null when relaxed SIMD is unavailable or disabled. */
export function relaxedModule(): WebAssembly.Module | null {
  return load().module;
}

export function relaxedSimdStatus(): RelaxedStatus {
  return load().status;
}

function load(): NonNullable<typeof state> {
  if (state) return state;
  const off = (detail: string): NonNullable<typeof state> => (state = { module: null, status: { available: false, detail } });
  if (process.env.KDP_RELAXED_SIMD === '0') return off('disabled by KDP_RELAXED_SIMD=0');
  if (!existsSync(RELAXED_WASM_PATH)) return off(`${RELAXED_WASM_PATH} not built (npm run build:wasm)`);
  const bytes = readFileSync(RELAXED_WASM_PATH);
  let how = 'native';
  if (!WebAssembly.validate(bytes)) {
    try { setFlagsFromString('--experimental-wasm-relaxed-simd'); } catch { /* unknown flag: stays unavailable */ }
    if (!WebAssembly.validate(bytes)) return off(`this engine (V8 ${process.versions.v8}) does not support WebAssembly relaxed SIMD`);
    how = '--experimental-wasm-relaxed-simd';
  }
  let module: WebAssembly.Module;
  let bad: string | null;
  try {
    module = new WebAssembly.Module(bytes);
    const memory = new WebAssembly.Memory({ initial: 1 });
    const r = new WebAssembly.Instance(module, { env: { memory, abort: () => { throw new Error('wasm abort'); } } }).exports as unknown as RelaxedExports;
    bad = probeRelaxedDot({ ...r, memory });
    // zero-row calls compile the kernels now (V8 compiles lazily), so an engine that validates but
    // cannot generate code for them fails here rather than on the first plan of a control loop
    r.pack_x(0, 0, 0, 0, 8, 8, 32);
    r.fc_i6(0, 0, 0, 0, 0, 0, 8, 8, 1 << 30, 0, 0, 0, -128, 127);
  } catch (e) {
    return off(`relaxed kernels failed to load: ${(e as Error).message}`);
  }
  if (bad) return off(`relaxed dot product failed the exactness probe (${bad}); using the i16 kernels`);
  return (state = { module, status: { available: true, detail: `relaxed SIMD (${how}), probe exact` } });
}

/**
 * Compare i16x8.relaxed_dot_i8x16_i7x16_s with exact products on the extremes the kernel feeds it
 * (first operand: any int8; second: [0, 127]). null = exact, else the first wrong lane.
 */
export function probeRelaxedDot(r: Pick<RelaxedExports, 'probe_dot'> & { memory: WebAssembly.Memory }): string | null {
  const memory = r.memory;
  const a = new Int8Array(memory.buffer, 1024, 16);
  const b = new Int8Array(memory.buffer, 1040, 16);
  const out = new Int16Array(memory.buffer, 1056, 8);
  const cases: Array<[number[], number[]]> = [
    [[-128, -128, 127, 127, -128, 127, 0, -1, 1, -128, 5, -7, 64, -64, 127, -128], [127, 127, 127, 127, 63, 63, 0, 127, 127, 1, 0, 33, 63, 63, 0, 127]],
    [[-128, -128, -128, -128, -128, -128, -128, -128, 127, 127, 127, 127, 127, 127, 127, 127], [63, 63, 63, 63, 127, 127, 0, 1, 63, 63, 127, 127, 1, 0, 2, 3]],
  ];
  for (const [av, bv] of cases) {
    a.set(av);
    b.set(bv);
    r.probe_dot(1024, 1040, 1056);
    for (let k = 0; k < 8; k++) {
      const want = av[2 * k]! * bv[2 * k]! + av[2 * k + 1]! * bv[2 * k + 1]!;
      if (out[k] !== want) return `lane ${k}: ${out[k]} ≠ ${want}`;
    }
  }
  return null;
}
