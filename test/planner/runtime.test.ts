// The fixed-arena interpreter: correctness against the TS reference path, the float reference MLP,
// the golden TFLite fixtures and a live tfjs-tflite oracle; batch override; arena pinning; typed errors.
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ArenaExhaustedError, KdpError, ModelError, ShapeError } from '../../src/errors.js';
import { mlpForwardReference, type Activation } from '../../src/model/mlp-spec.js';
import { Interpreter } from '../../src/planner/runtime/interpreter.js';
import { fill, maxAbsDiff, run } from '../helpers/interpreter-run.js';
import { buildTestMlp, GraphBuilder, randomMlp, activationQParams } from '../helpers/graph-builder.js';
import { parseTflite } from '../../src/planner/runtime/tflite-model.js';
import { writeMlpTflite, exportMlp } from '../../src/planner/export/mlp-graph.js';
import { outputStep } from '../../src/planner/export/quant.js';
import { loadTfliteOracle } from '../../src/planner/tflite/tfjs-tflite-runner.js';

const FIX = new URL('../../models/fixtures/', import.meta.url);


const spec = (activation: Activation) => ({ noiseDim: 12, condDim: 6, hidden: [40, 33], outputDim: 23, activation });

for (const act of ['relu', 'tanh', 'silu'] as const) {
  test(`fp32 ${act}: wasm ≈ reference ≈ mlpForwardReference (≤ 1e-5), N = 5`, () => {
    const w = randomMlp(spec(act), 11);
    const bytes = buildTestMlp(w, { batch: 5, quantize: 'fp32', splitInputs: true });
    const noise = new Float32Array(5 * 12); fill(noise, 1);
    const cond = new Float32Array(5 * 6); fill(cond, 2);
    const [a] = run(bytes, [noise, cond]);
    const [b] = run(bytes, [noise, cond], { backend: 'reference' });
    assert.ok(maxAbsDiff(a!, b!) <= 1e-5, `wasm vs reference ${maxAbsDiff(a!, b!)}`);
    const out = new Float32Array(23);
    for (let n = 0; n < 5; n++) {
      const x = new Float32Array(18);
      x.set(noise.subarray(n * 12, n * 12 + 12)); x.set(cond.subarray(n * 6, n * 6 + 6), 12);
      mlpForwardReference(w, x, out);
      assert.ok(maxAbsDiff(a!.subarray(n * 23, n * 23 + 23), out) <= 1e-5, `row ${n}`);
    }
  });

  test(`int8 ${act}: wasm kernels are bit-exact with the reference path (N = 1, 4, 7)`, () => {
    const w = randomMlp(spec(act), 12);
    for (const N of [1, 4, 7]) {
      const bytes = buildTestMlp(w, { batch: N, quantize: 'int8', splitInputs: true });
      const noise = new Float32Array(N * 12); fill(noise, 3);
      const cond = new Float32Array(N * 6); fill(cond, 4);
      const [a] = run(bytes, [noise, cond]);
      const [b] = run(bytes, [noise, cond], { backend: 'reference' });
      assert.is(maxAbsDiff(a!, b!), 0, `N=${N}`);
    }
  });
}

test('golden fixtures (outputs recorded from tfjs-tflite): fp32 ≤ 1e-5; int8 bit-exact (xnnpack numerics), ≤ 2 steps (tflite numerics)', () => {
  for (const name of ['relu', 'tanh', 'silu'].flatMap((a) => [`mlp-${a}-fp32`, `mlp-${a}-int8`])) {
    const fx = JSON.parse(readFileSync(new URL(`${name}.json`, FIX), 'utf8')) as { inputs: number[][]; outputs: number[][]; outputStep: number | null };
    const bytes = new Uint8Array(readFileSync(new URL(`${name}.tflite`, FIX)));
    for (const backend of ['wasm', 'reference'] as const) {
      for (const numerics of ['xnnpack', 'tflite'] as const) {
        const [y] = run(bytes, fx.inputs.map((x) => Float32Array.from(x)), { backend, numerics });
        const d = maxAbsDiff(y!, fx.outputs[0]!);
        // the reference kernels' fixed-point requantization rounds ties differently from XNNPACK's fp32
        // path; TANH's steep middle amplifies a 1-LSB difference in its input to 2 output steps here
        const tol = fx.outputStep === null ? 1e-5 : numerics === 'xnnpack' ? 1e-6 : fx.outputStep * 2.0001;
        assert.ok(d <= tol, `${name} ${backend} ${numerics}: max diff ${d} > ${tol}`);
      }
    }
  }
});

test('fixed-point helpers are exact (vs BigInt) and the WASM requantization matches them', async () => {
  const { srdhm, rdbpot, mulByQuantizedMultiplier, quantizeMultiplier, roundHalfEven } = await import('../../src/planner/runtime/quant.js');
  const { instantiateKernels } = await import('../../src/planner/runtime/wasm-kernels.js');
  const k = instantiateKernels().k;
  let s = 12345;
  const rnd = (): number => { s = (Math.imul(s, 1103515245) + 12345) | 0; return s; };
  for (let i = 0; i < 20000; i++) {
    const a = rnd() >> (i % 24);
    const [mult, shift] = quantizeMultiplier(Math.abs(rnd()) / 2 ** 31 * 2 ** ((i % 20) - 16));
    const ab = BigInt(a) * BigInt(mult);
    const nudge = ab >= 0n ? 1n << 30n : 1n - (1n << 30n);
    assert.is(srdhm(a, mult), Number((ab + nudge) / (1n << 31n)));
    const expect = mulByQuantizedMultiplier(a, mult, shift);
    assert.is(k.mul_by_quantized_multiplier(a, mult, shift), expect);
    if (shift <= 0) assert.is(expect, rdbpot(srdhm(a, mult), -shift));
  }
  assert.equal([0.5, 1.5, 2.5, -0.5, -1.5, 2.4].map(roundHalfEven), [0, 2, 2, -0, -2, 2]);
});

test('exported models vs live tfjs-tflite oracle: fp32 ≤ 1e-5, int8 ≤ 1 step (N = 1 and 16, hidden 64)', async () => {
  for (const act of ['relu', 'tanh', 'silu'] as const) {
    const w = randomMlp({ noiseDim: 16, condDim: 6, hidden: [64, 64], outputDim: 30, activation: act }, 21);
    for (const quantization of ['fp32', 'int8'] as const) {
      for (const N of [1, 16]) {
        const ex = exportMlp(w, { quantization, candidates: N });
        const oracle = await loadTfliteOracle(ex.bytes);
        const it = Interpreter.fromBytes(ex.bytes).allocate();
        for (let trial = 0; trial < 3; trial++) {
          const ins = [new Float32Array(N * 16), new Float32Array(N * 6)];
          ins.forEach((x, k) => fill(x, trial * 10 + k));
          const [ref] = oracle.infer(ins);
          ins.forEach((x, k) => it.setInput(k, x));
          it.invoke();
          const d = maxAbsDiff(it.outputView(0), ref!);
          const tol = quantization === 'fp32' ? 1e-5 : outputStep(ex.int8!) * 1.0001; // (observed: bit-exact)
          assert.ok(d <= tol, `${act} ${quantization} N=${N}: ${d} > ${tol}`);
        }
        oracle.close();
      }
    }
  }
});

test('int8 ADD / MUL / CONCAT / RESHAPE / RELU / RELU6 / LOGISTIC / requantize vs tfjs-tflite (≤ 1 step)', async () => {
  const N = 3;
  const g = new GraphBuilder();
  const a = g.input('a', [N, 8]);
  const b = g.input('b', [N, 8]);
  const qa = activationQParams(-2, 2); const qb = activationQParams(-1, 3);
  // TFLite requires CONCATENATION inputs to carry the output's quantization
  const qc = activationQParams(-6, 6);
  const ta = g.tensor('a_q', [N, 8], 'int8', qa); g.op('QUANTIZE', [a], [ta], { version: 2 });
  const tb = g.tensor('b_q', [N, 8], 'int8', qb); g.op('QUANTIZE', [b], [tb], { version: 2 });
  const sum = g.tensor('sum', [N, 8], 'int8', qc); g.op('ADD', [ta, tb], [sum], { act: 'relu', version: 2 });
  const prod = g.tensor('prod', [N, 8], 'int8', qc); g.op('MUL', [ta, tb], [prod], { version: 2 });
  const cat = g.tensor('cat', [N, 16], 'int8', qc); g.op('CONCATENATION', [sum, prod], [cat], { axis: 1, version: 2 });
  const r6 = g.tensor('r6', [N, 16], 'int8', qc); g.op('RELU6', [cat], [r6], { version: 2 });
  const sig = g.tensor('sig', [N, 16], 'int8', { scale: 1 / 256, zeroPoint: -128 }); g.op('LOGISTIC', [cat], [sig], { version: 2 });
  const rq = g.tensor('rq', [N, 16], 'int8', activationQParams(0, 1)); g.op('QUANTIZE', [sig], [rq], { version: 2 });
  const rs = g.tensor('rs', [N * 2, 8], 'int8', activationQParams(0, 1)); g.op('RESHAPE', [rq, g.constI32('shape', [2], Int32Array.from([N * 2, 8]))], [rs]);
  const o1 = g.tensor('o1', [N, 16]); g.op('DEQUANTIZE', [r6], [o1], { version: 2 });
  const o2 = g.tensor('o2', [N * 2, 8]); g.op('DEQUANTIZE', [rs], [o2], { version: 2 });
  g.output(o1); g.output(o2);
  const bytes = g.finish();
  const oracle = await loadTfliteOracle(bytes);
  const ins = [new Float32Array(N * 8), new Float32Array(N * 8)];
  fill(ins[0]!, 5); fill(ins[1]!, 6);
  const ref = oracle.infer(ins);
  oracle.close();
  for (const backend of ['wasm', 'reference'] as const) {
    const outs = run(bytes, ins, { backend });
    assert.ok(maxAbsDiff(outs[0]!, ref[0]!) <= qc.scale * 1.0001, `RELU6 branch ${backend}: ${maxAbsDiff(outs[0]!, ref[0]!)}`);
    assert.ok(maxAbsDiff(outs[1]!, ref[1]!) <= activationQParams(0, 1).scale * 1.0001, `LOGISTIC branch ${backend}: ${maxAbsDiff(outs[1]!, ref[1]!)}`);
  }
});

test('fp32 ADD (broadcast bias) / MUL / RELU / RELU_N1_TO_1 / LOGISTIC / RESHAPE vs float math', () => {
  const N = 4;
  const g = new GraphBuilder();
  const x = g.input('x', [N, 6]);
  const bias = g.constF32('bias', [6], Float32Array.from([0.5, -0.25, 1, -1, 0.125, 2]));
  const s = g.tensor('s', [N, 6]); g.op('ADD', [x, bias], [s], { act: 'relu' });
  const m = g.tensor('m', [N, 6]); g.op('MUL', [s, x], [m]);
  const c = g.tensor('c', [N, 6]); g.op('RELU_N1_TO_1', [m], [c]);
  const l = g.tensor('l', [N, 6]); g.op('LOGISTIC', [c], [l]);
  const r = g.tensor('r', [N * 3, 2]); g.op('RESHAPE', [l, g.constI32('shape', [2], Int32Array.from([N * 3, 2]))], [r]);
  g.output(r);
  const bytes = g.finish();
  const xin = new Float32Array(N * 6); fill(xin, 9);
  const expect = new Float32Array(N * 6);
  const bv = [0.5, -0.25, 1, -1, 0.125, 2];
  for (let i = 0; i < expect.length; i++) {
    const sv = Math.max(0, xin[i]! + bv[i % 6]!);
    const mv = Math.min(1, Math.max(-1, sv * xin[i]!));
    expect[i] = 1 / (1 + Math.exp(-mv));
  }
  for (const backend of ['wasm', 'reference'] as const) {
    const [y] = run(bytes, [xin], { backend });
    assert.ok(maxAbsDiff(y!, expect) <= 1e-6, backend);
  }
});

test('batch override: one file exported at N = 16 runs at N = 1, 16 and 64 with identical rows', () => {
  const w = randomMlp({ noiseDim: 32, condDim: 6, hidden: [64], outputDim: 20, activation: 'relu' }, 5);
  for (const quantization of ['fp32', 'int8'] as const) {
    const bytes = writeMlpTflite(w, { quantization, candidates: 16 });
    const rows = new Map<number, Float32Array>();
    for (const batch of [1, 16, 64]) {
      const it = Interpreter.fromBytes(bytes, { batch }).allocate();
      assert.equal(it.inputInfo(0).shape, [batch, 32]);
      assert.equal(it.outputInfo(0).shape, [batch, 20]);
      for (let n = 0; n < batch; n++) {
        const nz = new Float32Array(32); fill(nz, n % 7);
        const cd = new Float32Array(6); fill(cd, 100 + (n % 7));
        it.inputView(0).set(nz, n * 32); it.inputView(1).set(cd, n * 6);
      }
      it.invoke();
      rows.set(batch, it.outputView(0).slice());
    }
    for (const batch of [1, 16, 64]) {
      const y = rows.get(batch)!;
      const base = rows.get(16)!;
      for (let n = 0; n < batch; n++) {
        const k = n % 7;
        assert.is(maxAbsDiff(y.subarray(n * 20, n * 20 + 20), base.subarray(k * 20, k * 20 + 20)), 0, `${quantization} batch ${batch} row ${n}`);
      }
    }
  }
});

test('arena bytes are pinned for the fixture models (regression guard, like TFLite Micro)', () => {
  const pinned: Record<string, number> = {};
  for (const name of ['mlp-relu-fp32', 'mlp-relu-int8', 'mlp-silu-int8']) {
    const it = Interpreter.fromBytes(new Uint8Array(readFileSync(new URL(`${name}.tflite`, FIX))), { backend: 'wasm' }).allocate();
    const r = it.arenaReport();
    assert.is(r.arenaBytes, r.persistentBytes + r.plannedBytes + 64);
    assert.ok(r.plannedBytes <= r.unplannedBytes, 'the planner never needs more than no sharing');
    pinned[name] = it.arenaBytes;
  }
  assert.equal(pinned, { 'mlp-relu-fp32': 14816, 'mlp-relu-int8': 7760, 'mlp-silu-int8': 8272 });
});

test('typed errors: unsupported op, unsupported type, wrong version, wrong identifier, truncated', () => {
  const g = new GraphBuilder();
  const x = g.input('x', [1, 4]);
  const y = g.tensor('y', [1, 4]);
  g.op('EXP', [x], [y]);
  g.output(y);
  const bad = g.finish();
  try { Interpreter.fromBytes(bad); assert.unreachable(); } catch (e) {
    assert.instance(e, ModelError);
    assert.is((e as ModelError).code, 'E_MODEL_UNSUPPORTED_OP');
    assert.match((e as Error).message, /EXP/);
  }
  // op resolver restriction
  const fpBytes = readFileSync(new URL('mlp-relu-fp32.tflite', FIX));
  try { Interpreter.fromBytes(new Uint8Array(fpBytes), { ops: ['FULLY_CONNECTED'] }); assert.unreachable(); } catch (e) {
    assert.is((e as ModelError).code, 'E_MODEL_UNSUPPORTED_OP');
    assert.match((e as Error).message, /CONCATENATION/);
  }
  // uint8 tensor
  const g2 = new GraphBuilder();
  const x2 = g2.input('x', [1, 4]);
  const q2 = g2.tensor('q', [1, 4], 'int32');
  g2.op('QUANTIZE', [x2], [q2]);
  g2.output(q2);
  try { Interpreter.fromBytes(g2.finish()); assert.unreachable(); } catch (e) {
    assert.is((e as ModelError).code, 'E_MODEL_UNSUPPORTED_OP');
    assert.match((e as Error).message, /INT32/);
  }
  // version
  const g3 = new GraphBuilder();
  g3.version = 2;
  const x3 = g3.input('x', [1, 4]); const y3 = g3.tensor('y', [1, 4]); g3.op('RELU', [x3], [y3]); g3.output(y3);
  try { Interpreter.fromBytes(g3.finish()); assert.unreachable(); } catch (e) {
    assert.is((e as ModelError).code, 'E_MODEL_SCHEMA');
    assert.match((e as Error).message, /version 2/);
  }
  // identifier
  const ident = new Uint8Array(fpBytes); ident[4] = 0x58;
  try { Interpreter.fromBytes(ident); assert.unreachable(); } catch (e) {
    assert.is((e as ModelError).code, 'E_MODEL_SCHEMA');
    assert.match((e as Error).message, /TFL3/);
  }
  // truncated at every 97th byte
  for (let n = 0; n < fpBytes.length; n += 97) {
    try { Interpreter.fromBytes(new Uint8Array(fpBytes.subarray(0, n))).allocate(); assert.unreachable(`prefix ${n} loaded`); } catch (e) {
      assert.instance(e, KdpError, `prefix ${n}: ${(e as Error).message}`);
    }
  }
});

test('I/O contract: ShapeError names the input; arena limit → ArenaExhaustedError; invoke before allocate is refused', () => {
  const bytes = new Uint8Array(readFileSync(new URL('mlp-relu-fp32.tflite', FIX)));
  const it = Interpreter.fromBytes(bytes);
  assert.throws(() => it.invoke(), (e: unknown) => (e as KdpError).code === 'E_NOT_ALLOCATED');
  it.allocate();
  try { it.setInput(1, new Float32Array(5)); assert.unreachable(); } catch (e) {
    assert.instance(e, ShapeError);
    assert.match((e as Error).message, /condition/);
  }
  assert.equal(it.inputInfo(0).name, 'noise');
  assert.equal(it.outputInfo(0).name, 'plan');
  assert.throws(() => Interpreter.fromBytes(bytes, { arenaLimitBytes: 1024 }).allocate(), (e: unknown) => e instanceof ArenaExhaustedError);
  assert.throws(() => Interpreter.fromBytes(bytes, { batch: 0 }), (e: unknown) => e instanceof ShapeError);
});

test('loader agrees with the exporter-side reader on structure (field ids cross-check)', async () => {
  const { readTflite } = await import('../../src/planner/tflite/reader.js');
  for (const name of ['mlp-silu-int8', 'mlp-tanh-fp32']) {
    const bytes = new Uint8Array(readFileSync(new URL(`${name}.tflite`, FIX)));
    const mine = parseTflite(bytes);
    const theirs = readTflite(bytes) as unknown as { subgraphs: Array<{ tensors: Array<{ name: string; shape: number[] }>; operators: Array<{ inputs: number[]; outputs: number[] }> }> };
    const sg = theirs.subgraphs[0]!;
    assert.equal(mine.tensors.map((t) => [t.name, t.shape]), sg.tensors.map((t) => [t.name, t.shape]));
    assert.equal(mine.ops.map((o) => [o.inputs, o.outputs]), sg.operators.map((o) => [o.inputs, o.outputs]));
  }
});

test.run();
