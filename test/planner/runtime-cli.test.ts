// `kdp infer` and `kdp bench` end to end (child processes), and the ONNX translation used by
// `--backend onnx` (same numbers as our runtime on the fp32 fixture).
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runKdp } from '../helpers/cli.js';
import { Interpreter } from '../../src/planner/runtime/interpreter.js';
import { createEngine } from '../../src/bench/engines.js';

const FIX = new URL('../../models/fixtures/', import.meta.url);
const fixture = (n: string): string => new URL(n, FIX).pathname;
const tmp = mkdtempSync(join(tmpdir(), 'kdp-rt-cli-'));

test('kdp infer --json returns the interpreter outputs; wrong length → E_SHAPE naming the input', () => {
  const fx = JSON.parse(readFileSync(new URL('mlp-relu-fp32.json', FIX), 'utf8')) as { inputs: number[][]; outputs: number[][] };
  const inPath = join(tmp, 'in.json');
  writeFileSync(inPath, JSON.stringify({ inputs: fx.inputs }));
  const r = runKdp(['infer', '--model', fixture('mlp-relu-fp32.tflite'), '--input', inPath, '--json']);
  assert.is(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { outputs: number[][] };
  const it = Interpreter.fromBytes(new Uint8Array(readFileSync(new URL('mlp-relu-fp32.tflite', FIX)))).allocate();
  fx.inputs.forEach((x, i) => it.setInput(i, x));
  it.invoke();
  assert.equal(out.outputs[0], Array.from(it.outputView(0)));
  writeFileSync(inPath, JSON.stringify({ inputs: [fx.inputs[0], [1, 2, 3]] }));
  const bad = runKdp(['infer', '--model', fixture('mlp-relu-fp32.tflite'), '--input', inPath, '--json']);
  assert.is.not(bad.status, 0);
  const err = JSON.parse(bad.stdout) as { code: string; message: string };
  assert.is(err.code, 'E_SHAPE');
  assert.match(err.message, /condition/);
});

test('kdp bench --json has the issue\'s fields; --vs prints both and ratioP50; text mimics benchmark_model', () => {
  const r = runKdp(['bench', '--model', fixture('mlp-relu-int8.tflite'), '--iterations', '300', '--warmup', '20', '--json']);
  assert.is(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout) as Record<string, unknown>;
  // the original fields first, in their order; then what the run ran on
  assert.equal(Object.keys(j), ['backend', 'candidates', 'iterations', 'p50Us', 'p99Us', 'p999Us', 'meanUs', 'gcCount', 'heapGrowthBytes', 'arenaBytes', 'deadlineMisses',
    'emulated', 'platform', 'kernels']);
  assert.is(j.backend, 'kdp');
  assert.is(j.candidates, 4);
  const p = j.platform as { arch: string; cpuModel: string; simd: string[]; engine: { v8: string }; emulated: boolean };
  assert.is(p.arch, process.arch);
  assert.is(p.engine.v8, process.versions.v8);
  assert.ok(p.cpuModel.length > 0);
  if (process.arch === 'x64') assert.ok(p.simd.includes('sse4_1'), 'x86-64 hosts that run WASM SIMD have SSE4.1');
  assert.is(j.emulated, false);
  assert.ok(typeof j.p50Us === 'number');
  const kernels = j.kernels as { backend: string; why: string; fc: Record<string, number>; relaxedSimd: { available: boolean; detail: string } };
  assert.ok(['native', 'wasm'].includes(kernels.backend), kernels.backend);
  assert.ok(kernels.why.length > 0);
  // three int8 FCs, on the native kernel where it was built, else the WASM i16 one
  assert.equal(kernels.fc, kernels.backend === 'native' ? { fc_q8n: 3 } : { fc_i8: 3 });
  assert.ok(kernels.relaxedSimd.available);
  assert.match(kernels.relaxedSimd.detail, /probe exact/);
  const pinned = runKdp(['bench', '--model', fixture('mlp-relu-int8.tflite'), '--iterations', '50', '--warmup', '5', '--cpus', '1', '--json']);
  assert.is(pinned.status, 0, pinned.stderr);
  assert.is((JSON.parse(pinned.stdout) as { platform: { cores: number } }).platform.cores, 1, '--cpus 1: the benchmark sees one core');
  const v = runKdp(['bench', '--model', fixture('mlp-relu-int8.tflite'), '--iterations', '200', '--warmup', '20', '--vs', 'tfjs-tflite', '--json']);
  assert.is(v.status, 0, v.stderr);
  const vj = JSON.parse(v.stdout) as { kdp: { p50Us: number }; 'tfjs-tflite': { p50Us: number }; ratioP50: number };
  assert.ok(vj.kdp.p50Us > 0 && vj['tfjs-tflite'].p50Us > 0 && Number.isFinite(vj.ratioP50));
  const t = runKdp(['bench', '--model', fixture('mlp-relu-fp32.tflite'), '--iterations', '200', '--warmup', '10', '--candidates', '16', '--cpus', '1']);
  assert.is(t.status, 0, t.stderr);
  for (const re of [/Platform: x64|Platform: arm64/, /Initialized session in/, /count=200 first=\d+ min=\d+ max=\d+ avg=[\d.]+ std=\d+/, /Inference timings in us: Init: \d+, First inference: \d+, Warmup \(avg\): [\d.]+, Inference \(avg\): [\d.]+/, /p99\.9=/, /Deadline misses: \d+ \/ 200/, /arena=\d+ bytes/, /gc events=\d+/]) {
    assert.match(t.stdout, re);
  }
});

test('onnx translation computes the same network as the interpreter (fp32 ≤ 1e-5; int8 → float equivalent)', async () => {
  for (const name of ['mlp-silu-fp32', 'mlp-tanh-fp32', 'mlp-relu-int8']) {
    const bytes = new Uint8Array(readFileSync(new URL(`${name}.tflite`, FIX)));
    const k = await createEngine('kdp', bytes, { candidates: 4 });
    const o = await createEngine('onnx', bytes, { candidates: 4 });
    for (const e of [k, o]) e.inputs.forEach((v, j) => { for (let i = 0; i < v.length; i++) v[i] = Math.cos(i * 0.3 + j); });
    k.run();
    await o.run();
    const a = k.outputs()[0]!;
    const b = o.outputs()[0]!;
    let d = 0;
    for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
    // int8: ORT runs the dequantized network in float, so it differs by the quantization error
    assert.ok(d <= (name.endsWith('int8') ? 0.5 : 1e-5), `${name}: ${d}`);
    k.close(); o.close();
  }
});

test.run();
