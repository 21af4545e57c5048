/**
 * The optional native kernel module (build/native/kdp_native.node, built from src/native/ by
 * scripts/build-native.mjs on `npm ci`): int8 and fp32 FULLY_CONNECTED in C with intrinsics, one
 * variant per instruction set, chosen per CPU at load. Everything else in a graph stays on the WASM
 * kernels, and the arena stays the WASM memory: the module reads and writes it in place.
 *
 * Which kernels a new Interpreter uses (`kernelSelection()`):
 *   KDP_KERNELS=wasm|native|reference forces one (native when it cannot run → E_NATIVE_UNAVAILABLE);
 *   otherwise native when the module loaded and the CPU has a SIMD variant, else wasm — with the reason.
 * KDP_NATIVE_VARIANT=<name> forces a variant (tests of the AVX2 path on a VNNI machine, for instance);
 * KDP_NATIVE_DIR=<dir> loads the module from another build directory.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KdpError } from '../../errors.js';

/** build/native, or KDP_NATIVE_DIR (a module built elsewhere, e.g. `build-native.mjs --out DIR`) */
const NATIVE_DIR = process.env.KDP_NATIVE_DIR || fileURLToPath(new URL('../../../build/native/', import.meta.url));
export const NATIVE_PATH = join(NATIVE_DIR, 'kdp_native.node');
const STATUS_PATH = join(NATIVE_DIR, 'status.json');

export interface NativeVariant { name: string; insn: string; supported: boolean }

export interface NativeAddon {
  variants(): { arch: string; xOffset: number; variants: NativeVariant[] };
  createContext(arena: ArrayBuffer, variant: string): object;
  addOp(ctx: object, ints: Int32Array, floats: Float32Array): number;
  run(ctx: object, from: number, to: number): void;
  /** 4·n dependent integer adds (benchmarks: cycles as this process gets them) */
  spin(n: number): number;
}

export interface NativeStatus {
  available: boolean;
  /** the variant that runs (e.g. "avx512vnni"), when available */
  variant: string | null;
  /** its int8 instruction, e.g. "vpdpbusd (zmm, AVX-512 VNNI)" */
  insn: string | null;
  /** activation offset the int8 kernels use (128 on x86, 0 on arm64), folded into the bias at prepare */
  xOffset: number;
  /** every compiled variant and whether this CPU runs it */
  variants: NativeVariant[];
  /** why it is (not) used */
  detail: string;
}

export const KERNEL_CHOICES = ['wasm', 'native', 'reference'] as const;
export type KernelChoice = (typeof KERNEL_CHOICES)[number];

let state: { addon: NativeAddon | null; status: NativeStatus } | undefined;

export function nativeStatus(): NativeStatus { return load().status; }
/** The loaded module, or null (see nativeStatus().detail). */
export function nativeAddon(): NativeAddon | null { return load().addon; }

function buildReason(): string {
  try {
    const s = JSON.parse(readFileSync(STATUS_PATH, 'utf8')) as { ok?: boolean; reason?: string };
    if (s.ok === false && s.reason) return `not built: ${s.reason}`;
  } catch { /* no status file */ }
  return `not built: ${NATIVE_PATH} does not exist (run \`npm run build:native\`; needs a C compiler)`;
}

function load(): NonNullable<typeof state> {
  if (state) return state;
  const off = (detail: string, variants: NativeVariant[] = [], xOffset = 0): NonNullable<typeof state> =>
    (state = { addon: null, status: { available: false, variant: null, insn: null, xOffset, variants, detail } });
  if (!existsSync(NATIVE_PATH)) return off(buildReason());
  let addon: NativeAddon;
  let info: ReturnType<NativeAddon['variants']>;
  try {
    addon = createRequire(import.meta.url)(NATIVE_PATH) as NativeAddon;
    info = addon.variants();
  } catch (e) {
    return off(`failed to load ${NATIVE_PATH}: ${(e as Error).message.split('\n')[0]}`);
  }
  const forced = process.env.KDP_NATIVE_VARIANT;
  let pick: NativeVariant | undefined;
  if (forced) {
    pick = info.variants.find((v) => v.name === forced);
    if (!pick) return off(`KDP_NATIVE_VARIANT=${forced} is not one of ${info.variants.map((v) => v.name).join(', ')}`, info.variants, info.xOffset);
    if (!pick.supported) return off(`KDP_NATIVE_VARIANT=${forced}: this CPU does not support it`, info.variants, info.xOffset);
  } else {
    pick = info.variants.find((v) => v.supported);
    // the portable C variant exists for correctness on odd CPUs; it is slower than the WASM SIMD kernels
    if (!pick || pick.name === 'scalar') {
      return off(`this CPU has none of the SIMD variants (${info.variants.filter((v) => v.name !== 'scalar').map((v) => v.name).join(', ')})`, info.variants, info.xOffset);
    }
  }
  const how = forced ? `forced by KDP_NATIVE_VARIANT` : `best of ${info.variants.filter((v) => v.supported).map((v) => v.name).join(', ')} on this CPU`;
  return (state = {
    addon,
    status: { available: true, variant: pick.name, insn: pick.insn, xOffset: info.xOffset, variants: info.variants, detail: `${pick.name}: ${pick.insn} (${how})` },
  });
}

export interface KernelSelection {
  backend: KernelChoice;
  /** one line: which kernels run and why */
  why: string;
}

/** The backend a new Interpreter uses when none is given (see the file comment). */
export function kernelSelection(): KernelSelection {
  const env = process.env.KDP_KERNELS;
  if (env !== undefined && env !== '') {
    if (!(KERNEL_CHOICES as readonly string[]).includes(env)) {
      throw new KdpError('E_USAGE', `KDP_KERNELS=${env} is not one of ${KERNEL_CHOICES.join(', ')}`, { hint: 'unset it to pick automatically, or set wasm, native or reference' });
    }
    const backend = env as KernelChoice;
    if (backend === 'native') requireNative();
    return { backend, why: backend === 'native' ? `native ${nativeStatus().detail}; forced by KDP_KERNELS=native` : `forced by KDP_KERNELS=${env}` };
  }
  const s = nativeStatus();
  return s.available ? { backend: 'native', why: `native ${s.detail}` } : { backend: 'wasm', why: `WASM SIMD kernels; native kernels unavailable: ${s.detail}` };
}

/** The module, or a typed error saying why it cannot run here. */
export function requireNative(): NativeAddon {
  const a = nativeAddon();
  if (!a) {
    throw new KdpError('E_NATIVE_UNAVAILABLE', `native kernels unavailable: ${nativeStatus().detail}`,
      { hint: 'install a C compiler (Debian: build-essential) and run `npm run build:native`, or use KDP_KERNELS=wasm' });
  }
  return a;
}
