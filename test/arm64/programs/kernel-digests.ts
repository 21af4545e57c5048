// Runs on both sides of the arm64 comparison (host node and the emulated aarch64 node): every shipped
// model (and the fp32/int8 fixtures) at N ∈ {1, 2, 7, 64} through every kernel variant, from the same
// seeded inputs. Prints one JSON document: per case the sha256 of the output bytes, the FC kernels that
// ran, and whether the output is bit-identical to the TypeScript reference (int8) or how far it is (fp32).
//   args: [--models a,b] [--ns 1,7]   (defaults: all, 1,2,7,64)
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Interpreter, type InterpreterOptions } from '../../../src/planner/runtime/interpreter.js';
import { randomMlp } from '../../helpers/graph-builder.js';
import { exportMlp } from '../../../src/planner/export/mlp-graph.js';
import type { MlpSpec } from '../../../src/model/mlp-spec.js';
import { relaxedSimdStatus } from '../../../src/planner/runtime/relaxed-simd.js';
import { Rng } from '../../../src/util/rng.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export interface DigestCase {
  model: string;
  n: number;
  variant: string;
  fc: string[];
  sha256: string;
  /** int8: output bit-identical to the reference backend's; fp32: max |Δ| ≤ 1e-5 */
  matchesReference: boolean;
  maxAbsDiff: number;
}
export interface DigestReport {
  arch: string;
  node: string;
  v8: string;
  relaxed: { available: boolean; detail: string };
  cases: DigestCase[];
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/**
 * Shipped models (models/<name>/model.tflite), then the fixtures (models/fixtures/*.tflite), then for each
 * shipped model with 8-bit weights (cf-nav, so100-pick-place, so100-reach) a seeded random network of its shape exported
 * with 6-bit weights, so the relaxed-SIMD kernel also runs every shipped shape (exported here, on both sides).
 */
function models(): Array<[string, () => Uint8Array]> {
  const out: Array<[string, () => Uint8Array]> = [];
  const dir = join(ROOT, 'models');
  const w6: Array<[string, () => Uint8Array]> = [];
  for (const name of readdirSync(dir).sort()) {
    const f = join(dir, name, 'model.tflite');
    if (!existsSync(f)) continue;
    const bytes = (): Uint8Array => new Uint8Array(readFileSync(f));
    out.push([name, bytes]);
    if (!Interpreter.fromBytes(bytes()).kernelKinds.includes('fc_i6')) {
      const spec = (JSON.parse(readFileSync(join(dir, name, 'manifest.json'), 'utf8')) as { mlp: MlpSpec }).mlp;
      w6.push([`w6/${name}-shape`, () => exportMlp(randomMlp(spec, 15), { quantization: 'int8', candidates: 64, weightBits: 6 }).bytes]);
    }
  }
  for (const name of readdirSync(join(dir, 'fixtures')).sort()) {
    if (name.endsWith('.tflite')) out.push([`fixtures/${name.replace(/\.tflite$/, '')}`, () => new Uint8Array(readFileSync(join(dir, 'fixtures', name)))]);
  }
  return [...out, ...w6];
}

function run(bytes: Uint8Array, n: number, opts: InterpreterOptions): { out: Float32Array; fc: string[] } {
  const it = Interpreter.fromBytes(bytes, { ...opts, batch: n }).allocate();
  const rng = new Rng(20261203 + n);
  for (let k = 0; k < it.inputCount; k++) rng.fillNormal(it.inputView(k));
  it.invoke();
  return { out: it.outputView(0).slice(), fc: it.kernelKinds.filter((k) => k.startsWith('fc_')) };
}

const sha = (a: Float32Array): string => createHash('sha256').update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength)).digest('hex');

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
}

const VARIANTS: Array<[string, InterpreterOptions]> = [
  ['wasm', {}], // relaxed-SIMD FCs where the weights are 6-bit and the engine passed the probe
  ['wasm-i16', { relaxedSimd: false }],
  ['reference-i6-layout', { backend: 'reference', relaxedSimd: true }],
  ['wasm/tflite-numerics', { numerics: 'tflite' }],
  ['wasm-i16/tflite-numerics', { numerics: 'tflite', relaxedSimd: false }],
];

export function digests(only?: string[], ns = [1, 2, 7, 64]): DigestReport {
  const cases: DigestCase[] = [];
  for (const [model, load] of models()) {
    if (only && !only.includes(model)) continue;
    const bytes = load();
    const int8 = !model.includes('fp32');
    for (const n of ns) {
      const ref = { xnnpack: run(bytes, n, { backend: 'reference' }), tflite: run(bytes, n, { backend: 'reference', numerics: 'tflite' }) };
      cases.push({ model, n, variant: 'reference', fc: ref.xnnpack.fc, sha256: sha(ref.xnnpack.out), matchesReference: true, maxAbsDiff: 0 });
      for (const [variant, opts] of VARIANTS) {
        if (!int8 && variant !== 'wasm') continue;
        const r = run(bytes, n, opts);
        const against = opts.numerics === 'tflite' ? ref.tflite.out : ref.xnnpack.out;
        const d = maxAbsDiff(r.out, against);
        cases.push({ model, n, variant, fc: r.fc, sha256: sha(r.out), matchesReference: int8 ? sha(r.out) === sha(against) : d <= 1e-5, maxAbsDiff: d });
      }
    }
  }
  return { arch: process.arch, node: process.version, v8: process.versions.v8, relaxed: relaxedSimdStatus(), cases };
}

const only = arg('models')?.split(',');
const ns = arg('ns')?.split(',').map(Number);
process.stdout.write(`${JSON.stringify(digests(only, ns))}\n`);
