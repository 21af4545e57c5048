// The native kernel module (src/native/, N-API): every variant this CPU runs is bit-exact with the WASM
// kernels and the TypeScript reference on every shipped model and fixture at N ∈ {1, 2, 7, 64} (int8 in
// both numerics; fp32 bit-exact with WASM too); the Node-free harness agrees with the TypeScript
// reference on adversarial cases; 100,000 invokes on the native path allocate nothing; and every way the
// module can be missing (build failure, unknown variant, KDP_KERNELS) falls back to WASM or fails with a
// typed error, and says why.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Interpreter, type InterpreterOptions } from '../../src/planner/runtime/interpreter.js';
import { kernelSelection, nativeAddon, nativeStatus } from '../../src/planner/runtime/native-kernels.js';
import { measureAllocations } from '../../src/util/alloc-meter.js';
import { randomMlp } from '../helpers/graph-builder.js';
import { writeMlpTflite } from '../../src/planner/export/mlp-graph.js';
import { writeNativeCases } from '../helpers/native-cases.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const gc = (globalThis as { gc?: () => void }).gc;
// every shipped network: the generators, and the learned scorers (fp32) where a model carries one
const SHIPPED = readdirSync(join(ROOT, 'models')).filter((d) => !d.startsWith('fixtures'))
  .flatMap((d) => ['model.tflite', 'scorer.tflite'].filter((f) => existsSync(join(ROOT, 'models', d, f))).map((f) => `models/${d}/${f}`));
const FIXTURES = readdirSync(join(ROOT, 'models/fixtures')).filter((f) => f.endsWith('.tflite')).map((f) => `models/fixtures/${f}`);
const BATCHES = [1, 2, 7, 64];

function fill(v: Float32Array, seed: number): void {
  for (let i = 0; i < v.length; i++) v[i] = Math.sin(seed * 12.9898 + i * 78.233) * 2.2;
}
function run(bytes: Uint8Array, opts: InterpreterOptions): { out: Float32Array[]; kinds: readonly string[] } {
  const it = Interpreter.fromBytes(bytes, opts).allocate();
  for (let k = 0; k < it.inputCount; k++) fill(it.inputView(k), 3 + k);
  it.invoke();
  return { out: Array.from({ length: it.outputCount }, (_, k) => it.outputView(k).slice()), kinds: it.kernelKinds };
}
function sameBits(a: Float32Array[], b: Float32Array[], what: string): void {
  assert.is(a.length, b.length, what);
  a.forEach((x, k) => {
    const y = b[k]!;
    assert.is(x.length, y.length, what);
    for (let i = 0; i < x.length; i++) if (!Object.is(x[i], y[i])) assert.unreachable(`${what}: output ${k} element ${i}: ${x[i]} ≠ ${y[i]}`);
  });
}
const supported = (): string[] => nativeStatus().variants.filter((v) => v.supported).map((v) => v.name);

test('the native module is built and selected on this CPU, and says which variant runs', () => {
  const s = nativeStatus();
  assert.ok(s.available, s.detail);
  assert.ok(s.variant && s.variant !== 'scalar', s.detail);
  assert.ok(s.variants.some((v) => v.name === 'scalar' && v.supported));
  const sel = kernelSelection();
  assert.is(sel.backend, 'native');
  assert.match(sel.why, new RegExp(s.variant!));
  const it = Interpreter.fromBytes(readFileSync(join(ROOT, SHIPPED[0]!)));
  assert.is(it.backend, 'native');
  assert.is(it.nativeVariant, s.variant);
  assert.ok(it.kernelKinds.includes('fc_q8n'));
});

for (const file of [...SHIPPED, ...FIXTURES]) {
  test(`${file}: every native variant bit-exact with WASM and the reference (N = ${BATCHES.join(', ')})`, () => {
    const bytes = new Uint8Array(readFileSync(join(ROOT, file)));
    const fp32 = file.includes('fp32') || Interpreter.fromBytes(bytes, { backend: 'reference' }).kernelKinds.includes('fc_f32');
    for (const batch of BATCHES) {
      for (const numerics of fp32 ? (['xnnpack'] as const) : (['xnnpack', 'tflite'] as const)) {
        const wasm = run(bytes, { backend: 'wasm', batch, numerics });
        const ref = run(bytes, { backend: 'reference', batch, numerics });
        for (const nativeVariant of supported()) {
          const nat = run(bytes, { backend: 'native', batch, numerics, nativeVariant });
          assert.ok(nat.kinds.includes(fp32 ? 'fc_f32' : 'fc_q8n'), nat.kinds.join(','));
          const what = `${file} N=${batch} ${numerics} ${nativeVariant}`;
          sameBits(nat.out, wasm.out, `${what} vs wasm`);
          if (!fp32) sameBits(nat.out, ref.out, `${what} vs reference`);
          else nat.out.forEach((o, k) => o.forEach((v, i) => assert.ok(Math.abs(v - ref.out[k]![i]!) <= 1e-5, `${what} vs reference: ${v}`)));
        }
      }
    }
  });
}

test('learned-scorer shape (2 + 2 → 128×2 → 2, 6- and 8-bit weights; 31, 62 and 1,984 rows): every variant bit-exact with WASM and the reference', () => {
  const w = randomMlp({ noiseDim: 2, condDim: 2, hidden: [128, 128], outputDim: 2, activation: 'relu' }, 77);
  for (const weightBits of [6, 8] as const) {
    for (const rows of [31, 62, 1984]) {
      const bytes = writeMlpTflite(w, { quantization: 'int8', candidates: rows, weightBits });
      const wasm = run(bytes, { backend: 'wasm' });
      const ref = run(bytes, { backend: 'reference' });
      for (const nativeVariant of supported()) {
        const nat = run(bytes, { backend: 'native', nativeVariant });
        sameBits(nat.out, wasm.out, `scorer w${weightBits} rows=${rows} ${nativeVariant} vs wasm`);
        sameBits(nat.out, ref.out, `scorer w${weightBits} rows=${rows} ${nativeVariant} vs reference`);
      }
    }
  }
});

test('Node-free harness (check_kernels, host build): every variant bit-exact with the TypeScript reference on adversarial cases', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kdp-native-'));
  try {
    const b = spawnSync(process.execPath, [join(ROOT, 'scripts/build-native.mjs'), '--check', '--force', '--out', dir], { encoding: 'utf8' });
    assert.is(b.status, 0, b.stderr);
    assert.ok(JSON.parse(readFileSync(join(dir, 'status.json'), 'utf8')).ok, readFileSync(join(dir, 'status.json'), 'utf8'));
    const n = writeNativeCases(join(dir, 'cases.bin'));
    const r = spawnSync(join(dir, 'check_kernels'), [join(dir, 'cases.bin')], { encoding: 'utf8' });
    assert.is(r.status, 0, r.stdout + r.stderr);
    for (const v of supported()) assert.match(r.stdout, new RegExp(`variant ${v}: ${n}/${n} cases bit-exact`));
    // the same cases through the N-API entry points (scripts/check-native-napi.mjs: plain JS, so it also
    // runs under an arm64 Node in emulation)
    const napi = spawnSync(process.execPath, [join(ROOT, 'scripts/check-native-napi.mjs'), join(dir, 'kdp_native.node'), join(dir, 'cases.bin')], { encoding: 'utf8' });
    assert.is(napi.status, 0, napi.stdout + napi.stderr);
    for (const v of supported()) assert.match(napi.stdout, new RegExp(`variant ${v}: ${n}/${n} cases bit-exact through N-API`));
    const skipped = nativeStatus().variants.filter((v) => !v.supported).map((v) => v.name);
    // visible, counted: variants this CPU cannot run (e.g. AVX-VNNI on a Zen 4) are compiled but not checked here
    console.log(`\n[figure] check_kernels: ${n} cases × ${supported().length} variants bit-exact; not runnable here: ${skipped.join(', ') || 'none'}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

for (const [name, file, batch] of [['maze2d-umaze int8', 'models/maze2d-umaze/model.tflite', 4], ['mlp-silu-fp32', 'models/fixtures/mlp-silu-fp32.tflite', 4]] as const) {
  test(`100,000 invokes of ${name} on the native path: 0 GC events, heap growth < 1 KB`, async () => {
    assert.ok(gc, 'run under --expose-gc (node scripts/run-tests.mjs does)');
    const it = Interpreter.fromBytes(readFileSync(join(ROOT, file)), { backend: 'native', batch }).allocate();
    const src = new Float32Array(it.inputView(0).length).fill(0.25);
    const out = it.outputView(0);
    const loop = (n: number): number => {
      let sink = 0;
      for (let i = 0; i < n; i++) { src[0] = i & 7; it.setInput(0, src); it.invoke(); sink ^= (out[0]! * 1024) | 0; }
      return sink;
    };
    let sink = loop(3000);
    const r = await measureAllocations((n) => { sink ^= loop(n); }, 100_000);
    console.log(`\n[figure] ${name} native (${it.nativeVariant}): 100000 invokes → ${r.gcCount} GC events, heap growth ${r.heapGrowthBytes} B`);
    assert.ok(Number.isFinite(sink));
    assert.is(r.gcCount, 0);
    assert.ok(r.heapGrowthBytes < 1024, `heap grew ${r.heapGrowthBytes} B`);
  });
}

test('bad variant or operands: typed errors at load, never a crash', () => {
  const bytes = readFileSync(join(ROOT, SHIPPED[0]!));
  try { Interpreter.fromBytes(bytes, { backend: 'native', nativeVariant: 'sse9' }); assert.unreachable(); } catch (e) {
    assert.is((e as { code?: string }).code, 'E_NATIVE_UNAVAILABLE');
    assert.match((e as Error).message, /"sse9" does not exist/);
  }
  const unsupported = nativeStatus().variants.find((v) => !v.supported);
  if (unsupported) {
    try { Interpreter.fromBytes(bytes, { backend: 'native', nativeVariant: unsupported.name }); assert.unreachable(); } catch (e) {
      assert.is((e as { code?: string }).code, 'E_NATIVE_UNAVAILABLE');
      assert.match((e as Error).message, /not supported by this CPU/);
    }
  }
  // the module checks every operand against the arena it was given
  const addon = nativeAddon()!;
  const ctx = addon.createContext(new ArrayBuffer(4096), 'scalar');
  const ints = Int32Array.from([1, 0, 0, 0, 0, 4090, 4, 22, 24, 16, 1 << 30, 0, 0, -128, 127, 0]);
  assert.throws(() => addon.addOp(ctx, ints, new Float32Array(3)), /outside the arena/);
  ints[5] = 0; ints[8] = 22;
  assert.throws(() => addon.addOp(ctx, ints, new Float32Array(3)), /multiple of 8/);
  assert.throws(() => addon.createContext(new ArrayBuffer(64), 'nope'), /unknown kernel variant/);
  assert.throws(() => addon.run(ctx, 0, 1), /out of range/);
});

/** `kdp bench` in a child with extra environment; returns its exit code and parsed JSON (or stderr). */
function benchChild(env: Record<string, string>): { status: number | null; json: Record<string, unknown> | null; stderr: string } {
  const r = spawnSync(process.execPath, [join(ROOT, 'dist/cli/bin.mjs'), 'bench', '--model', 'models/maze2d-umaze', '--candidates', '4', '--iterations', '20', '--warmup', '2', '--json'],
    { cwd: ROOT, encoding: 'utf8', env: { ...process.env, ...env } });
  let json: Record<string, unknown> | null = null;
  try { json = JSON.parse(r.stdout) as Record<string, unknown>; } catch { /* error case */ }
  return { status: r.status, json, stderr: r.stderr };
}

test('forced and failed builds fall back to WASM and say why; KDP_KERNELS forces a backend or fails with a typed error', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kdp-native-fail-'));
  try {
    // a build with no usable compiler: npm ci goes on (exit 0), the reason is recorded
    const b = spawnSync(process.execPath, [join(ROOT, 'scripts/build-native.mjs'), '--force', '--out', dir], { encoding: 'utf8', env: { ...process.env, CC: join(dir, 'no-such-cc') } });
    assert.is(b.status, 0, b.stderr);
    assert.match(b.stderr, /skipped .*no C compiler/);
    const st = JSON.parse(readFileSync(join(dir, 'status.json'), 'utf8')) as { ok: boolean; reason: string };
    assert.is(st.ok, false);

    const fallback = benchChild({ KDP_NATIVE_DIR: dir });
    assert.is(fallback.status, 0, fallback.stderr);
    const k = (fallback.json!.kernels as { backend: string; why: string });
    assert.is(k.backend, 'wasm');
    assert.match(k.why, /native kernels unavailable: not built: no C compiler/);

    const forcedWasm = benchChild({ KDP_KERNELS: 'wasm' });
    assert.is((forcedWasm.json!.kernels as { backend: string; why: string }).backend, 'wasm');
    assert.match((forcedWasm.json!.kernels as { why: string }).why, /forced by KDP_KERNELS=wasm/);
    const forcedRef = benchChild({ KDP_KERNELS: 'reference' });
    assert.is((forcedRef.json!.kernels as { backend: string }).backend, 'reference');
    const native = benchChild({});
    assert.is((native.json!.kernels as { backend: string; variant: string }).backend, 'native');
    assert.is((native.json!.kernels as { variant: string }).variant, nativeStatus().variant);

    const mustNative = benchChild({ KDP_KERNELS: 'native', KDP_NATIVE_DIR: dir });
    assert.is.not(mustNative.status, 0);
    assert.match(mustNative.stderr, /E_NATIVE_UNAVAILABLE|native kernels unavailable: not built/);
    assert.not.match(mustNative.stderr, /\n\s+at /, 'no stack trace for a user mistake');
    const bogus = benchChild({ KDP_KERNELS: 'gpu' });
    assert.is.not(bogus.status, 0);
    assert.match(bogus.stderr, /KDP_KERNELS=gpu is not one of wasm, native, reference/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('kdp bench --vs onnx --onnx-quant int8: both ORT graphs, interleaved with kdp', () => {
  const r = spawnSync(process.execPath, [join(ROOT, 'dist/cli/bin.mjs'), 'bench', '--model', 'models/maze2d-umaze', '--candidates', '64', '--iterations', '30', '--warmup', '3',
    '--vs', 'onnx', '--onnx-quant', 'int8', '--json'], { cwd: ROOT, encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout) as Record<string, { p50Us: number; backend: string }> & { ratioP50: number; ratioP50OnnxFp32: number };
  for (const key of ['kdp', 'onnx', 'onnxFp32']) assert.ok(j[key]!.p50Us > 0, key);
  assert.ok(Math.abs(j.ratioP50 - j.kdp!.p50Us / j.onnx!.p50Us) < 1e-9);
  assert.ok(Math.abs(j.ratioP50OnnxFp32 - j.kdp!.p50Us / j.onnxFp32!.p50Us) < 1e-9);
});

test.run();
