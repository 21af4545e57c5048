/**
 * Structure of the exported .tflite (opcode fields, versions, buffers, alignment, quantization
 * params, SignatureDef), cross-checked with flatc's generated reader and with `flatc --json`, and
 * the bounds-checked reader's behaviour on corrupt input.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as flatbuffers from 'flatbuffers';
import { KdpError, ModelError } from '../../src/errors.js';
import { planGreedy } from '../../src/planner/runtime/memory-planner.js';
import { exportMlp } from '../../src/planner/export/mlp-graph.js';
import { SeededRandom } from '../../src/util/rng.js';
import { Model } from '../../src/planner/tflite/generated/tflite/model.js';
import { BuiltinOperator, readTflite, TensorType, type ParsedModel } from '../../src/planner/tflite/reader.js';
import { randomMlpWeights } from '../helpers/fixture-checkpoint.js';
import { buildGolden, GOLDEN_FIXTURES } from '../helpers/golden-fixtures.js';
import { mlpForwardReference } from '../../src/model/mlp-spec.js';
import { requireTool } from '../helpers/tools.js';

const SCHEMA = fileURLToPath(new URL('../../src/planner/tflite/schema/schema.fbs', import.meta.url));
const w = (activation: 'relu' | 'silu' | 'tanh', seed = 1) =>
  randomMlpWeights({ noiseDim: 8, condDim: 6, hidden: [32, 32], outDim: 44, activation, seed });

const int8Silu = exportMlp(w('silu'), { quantization: 'int8', candidates: 64, calibration: { samples: 128 } });
const fp32Relu = exportMlp(w('relu'), { quantization: 'fp32', candidates: 1 });

test('both opcode fields are set; versions are the minimal ones', () => {
  for (const ex of [int8Silu, fp32Relu]) {
    const m = readTflite(ex.bytes);
    for (const oc of m.operatorCodes) {
      assert.is(oc.deprecatedBuiltinCode, Math.min(oc.builtinCode, 127), `${oc.opName} deprecated field`);
      assert.is(oc.builtinCodeField, oc.builtinCode, `${oc.opName} builtin_code field`);
    }
    const versions = Object.fromEntries(m.operatorCodes.map((c) => [c.opName, c.version]));
    if (ex.quantization === 'fp32') {
      assert.equal(versions, { CONCATENATION: 1, FULLY_CONNECTED: 1 });
    } else {
      assert.equal(versions, { QUANTIZE: 2, CONCATENATION: 2, FULLY_CONNECTED: 4, LOGISTIC: 2, MUL: 2, DEQUANTIZE: 2 });
    }
    // generated (unchecked) reader agrees
    const gm = Model.getRootAsModel(new flatbuffers.ByteBuffer(ex.bytes));
    assert.is(gm.version(), 3);
    assert.is(gm.operatorCodesLength(), m.operatorCodes.length);
    for (let i = 0; i < gm.operatorCodesLength(); i++) {
      assert.is(gm.operatorCodes(i)!.builtinCode(), m.operatorCodes[i]!.builtinCode);
      assert.is(gm.operatorCodes(i)!.deprecatedBuiltinCode(), m.operatorCodes[i]!.deprecatedBuiltinCode);
    }
    const sg = gm.subgraphs(0)!;
    assert.is(sg.tensorsLength(), m.subgraphs[0]!.tensors.length);
    for (let i = 0; i < sg.tensorsLength(); i++) {
      assert.is(sg.tensors(i)!.name(), m.subgraphs[0]!.tensors[i]!.name);
      assert.equal(Array.from(sg.tensors(i)!.shapeArray() ?? []), m.subgraphs[0]!.tensors[i]!.shape);
    }
  }
});

test('buffers[0] is the empty sentinel; constants have own buffers, 16-byte aligned', () => {
  for (const ex of [int8Silu, fp32Relu]) {
    const m = readTflite(ex.bytes);
    assert.is(m.buffers[0]!.data.length, 0);
    const sg = m.subgraphs[0]!;
    const used = new Set<number>();
    for (const t of sg.tensors) {
      if (t.buffer === 0) { assert.is(t.data, null); continue; }
      assert.not.ok(used.has(t.buffer), 'one buffer per constant');
      used.add(t.buffer);
      assert.ok(t.data);
      assert.is((t.data!.byteOffset - m.bytes.byteOffset) % 16, 0, `${t.name} data aligned`);
    }
    assert.is(used.size, m.buffers.length - 1);
  }
});

test('int8: per-tensor symmetric weights, int32 bias with scale in×w, boundary is float32', () => {
  const m = readTflite(int8Silu.bytes);
  const sg = m.subgraphs[0]!;
  const byName = (n: string) => sg.tensors.find((t) => t.name === n)!;
  for (const name of ['noise', 'condition', 'plan']) assert.is(byName(name).type, TensorType.FLOAT32);
  for (const op of sg.operators.filter((o) => o.builtinCode === BuiltinOperator.FULLY_CONNECTED)) {
    const [x, W, b] = op.inputs.map((i) => sg.tensors[i]!);
    assert.is(W!.type, TensorType.INT8);
    assert.is(W!.quantization!.scale.length, 1, 'per-tensor');
    assert.equal(W!.quantization!.zeroPoint, [0]);
    const wq = new Int8Array(W!.data!.buffer, W!.data!.byteOffset, W!.data!.length);
    assert.ok(wq.every((v) => v >= -127 && v <= 127));
    assert.is(b!.type, TensorType.INT32);
    const expected = Math.fround(x!.quantization!.scale[0]! * W!.quantization!.scale[0]!);
    assert.ok(Math.abs(b!.quantization!.scale[0]! - expected) <= 1e-6 * expected);
    assert.equal(b!.quantization!.zeroPoint, [0]);
  }
  const logistic = sg.operators.find((o) => o.builtinCode === BuiltinOperator.LOGISTIC)!;
  const lq = sg.tensors[logistic.outputs[0]!]!.quantization!;
  assert.equal([lq.scale[0], lq.zeroPoint[0]], [1 / 256, -128]);
  // every CONCATENATION input shares the output's q-params
  const concat = sg.operators.find((o) => o.builtinCode === BuiltinOperator.CONCATENATION)!;
  const outQ = sg.tensors[concat.outputs[0]!]!.quantization!;
  for (const i of concat.inputs) assert.equal(sg.tensors[i]!.quantization!.scale, outQ.scale);
  assert.is(sg.operators[0]!.opName, 'QUANTIZE');
  assert.is(sg.operators[sg.operators.length - 1]!.opName, 'DEQUANTIZE');
});

test('SignatureDef serving_default: noise, condition → plan', () => {
  for (const ex of [int8Silu, fp32Relu]) {
    const m = readTflite(ex.bytes);
    assert.is(m.signatureDefs.length, 1);
    const s = m.signatureDefs[0]!;
    assert.is(s.key, 'serving_default');
    const sg = m.subgraphs[0]!;
    assert.equal(s.inputs.map((x) => x.name), ['noise', 'condition']);
    assert.equal(s.inputs.map((x) => x.tensorIndex), sg.inputs);
    assert.equal(s.outputs.map((x) => x.name), ['plan']);
    assert.equal(s.outputs.map((x) => x.tensorIndex), sg.outputs);
    assert.equal(sg.tensors[sg.outputs[0]!]!.shape, [ex.candidates, 44]);
  }
});

test('fused RELU for relu hidden layers, none on the output layer', () => {
  const m = readTflite(fp32Relu.bytes);
  const fcs = m.subgraphs[0]!.operators.filter((o) => o.opName === 'FULLY_CONNECTED');
  assert.equal(fcs.map((o) => (o.options?.kind === 'FullyConnectedOptions' ? o.options.fusedActivation : -1)), [1, 1, 0]);
});

test('flatc --json --raw-binary dumps the file', () => {
  requireTool('flatc');
  const dir = mkdtempSync(join(tmpdir(), 'kdp-flatc-'));
  try {
    writeFileSync(join(dir, 'm.tflite'), int8Silu.bytes);
    // the committed schema is upstream verbatim; flatc 2.0.8 needs `(deprecated)` dropped on two lines
    // (the same patch scripts/gen-tflite-schema.sh applies)
    const patched = readFileSync(SCHEMA, 'utf8')
      .replace(/^(\s*[A-Z0-9_]+\s*=\s*[0-9]+)\s*\(deprecated\)/gm, '$1')
      .replace(/^(\s*ReduceWindowOptions)\s*\(deprecated\),/gm, '$1,');
    writeFileSync(join(dir, 'schema.fbs'), patched);
    const r = spawnSync('flatc', ['--json', '--raw-binary', '--strict-json', '-o', dir, join(dir, 'schema.fbs'), '--', join(dir, 'm.tflite')], { encoding: 'utf8' });
    assert.is(r.status, 0, r.stderr);
    const j = JSON.parse(readFileSync(join(dir, 'm.json'), 'utf8')) as {
      version: number; operator_codes: Array<{ deprecated_builtin_code: number; builtin_code: string; version: number }>;
      signature_defs: Array<{ signature_key: string }>; buffers: unknown[]; subgraphs: Array<{ tensors: unknown[] }>;
    };
    assert.is(j.version, 3);
    assert.ok(j.operator_codes.every((c) => c.deprecated_builtin_code > 0 && typeof c.builtin_code === 'string'));
    assert.is(j.signature_defs[0]!.signature_key, 'serving_default');
    assert.equal(j.buffers[0], {});
    assert.is(j.subgraphs[0]!.tensors.length, readTflite(int8Silu.bytes).subgraphs[0]!.tensors.length);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

function expectModelError(bytes: Uint8Array, what: string): void {
  try {
    readTflite(bytes);
    assert.unreachable(`${what}: should be rejected`);
  } catch (e) {
    assert.instance(e, ModelError, `${what}: ${String(e)}`);
  }
}

test('reader rejects truncated files with ModelError', () => {
  const bytes = int8Silu.bytes;
  for (const n of [0, 3, 7, 8, 16, 64, 200, bytes.length >> 1, bytes.length - 64, bytes.length - 1]) {
    expectModelError(bytes.slice(0, n), `truncated to ${n}`);
  }
});

test('reader rejects garbage, wrong identifier and wrong schema version with ModelError', () => {
  const rng = new SeededRandom(9);
  for (let k = 0; k < 50; k++) {
    const g = new Uint8Array(8 + Math.floor(rng.next() * 4000));
    for (let i = 0; i < g.length; i++) g[i] = Math.floor(rng.next() * 256);
    g.set([0x54, 0x46, 0x4c, 0x33], 4); // even with the right identifier
    expectModelError(g, `garbage ${k}`);
  }
  const wrongId = int8Silu.bytes.slice();
  wrongId[4] = 0x58;
  expectModelError(wrongId, 'identifier');
  // patch Model.version (field 0 of the root table) to 4
  const v = fp32Relu.bytes.slice();
  const dv = new DataView(v.buffer);
  const root = dv.getUint32(0, true);
  const vt = root - dv.getInt32(root, true);
  const off = dv.getUint16(vt + 4, true);
  dv.setUint32(root + off, 4, true);
  try { readTflite(v); assert.unreachable(); } catch (e) {
    assert.instance(e, ModelError);
    assert.match((e as Error).message, /schema version 4/);
  }
});

test('reader: random byte mutations either parse or throw a KdpError, never anything else', () => {
  const rng = new SeededRandom(21);
  const base = int8Silu.bytes;
  let parsed = 0; let rejected = 0;
  for (let k = 0; k < 3000; k++) {
    const m = base.slice();
    const flips = 1 + Math.floor(rng.next() * 4);
    // bias mutations towards the flatbuffer structure (start and tables), not just weight bytes
    for (let f = 0; f < flips; f++) {
      const pos = rng.next() < 0.5 ? Math.floor(rng.next() * Math.min(m.length, 512)) : Math.floor(rng.next() * m.length);
      m[pos] = Math.floor(rng.next() * 256);
    }
    let pm: ParsedModel | undefined;
    try { pm = readTflite(m); parsed++; } catch (e) {
      if (!(e instanceof KdpError)) throw new Error(`mutation ${k}: non-KdpError ${String(e)}`);
      rejected++;
    }
    if (pm) for (const t of pm.subgraphs[0]?.tensors ?? []) if (t.data) assert.ok(t.data.byteOffset + t.data.length <= m.byteOffset + m.length);
  }
  console.log(`\n[figure] mutation fuzz (3000): ${parsed} parsed, ${rejected} rejected with a typed error`);
  assert.ok(rejected > 0);
});

test('arena plan: greedy by size reuses memory of dead tensors', () => {
  // chain a(0..0) → b(0..1) → c(1..2) → d(2..2): a and c can share, b and d can share
  const p = planGreedy([
    { size: 100, firstUse: 0, lastUse: 0 }, { size: 200, firstUse: 0, lastUse: 1 },
    { size: 100, firstUse: 1, lastUse: 2 }, { size: 200, firstUse: 2, lastUse: 2 },
  ]);
  assert.is(p.totalBytes, 208 + 112);
  assert.ok(int8Silu.arenaBytes > 0 && int8Silu.arenaBytes < 64 * (8 + 6 + 32 * 4 + 44 * 5) * 4);
});

test('models/fixtures golden files are reproducible and consistent with the float reference', () => {
  const dir = fileURLToPath(new URL('../../models/fixtures/', import.meta.url));
  for (const g of GOLDEN_FIXTURES) {
    const b = buildGolden(g);
    const file = new Uint8Array(readFileSync(join(dir, `${g.name}.tflite`)));
    assert.ok(Buffer.from(file).equals(Buffer.from(b.bytes)), `${g.name}.tflite is reproducible`);
    const j = JSON.parse(readFileSync(join(dir, `${g.name}.json`), 'utf8')) as { inputs: number[][]; outputs: number[][]; outputStep: number | null };
    assert.equal(j.inputs[0], Array.from(b.inputs[0]!));
    const ref = new Float32Array(44);
    let maxErr = 0;
    for (let n = 0; n < g.candidates; n++) {
      mlpForwardReference(b.weights, [...j.inputs[0]!.slice(n * 8, n * 8 + 8), ...j.inputs[1]!.slice(n * 6, n * 6 + 6)], ref);
      for (let i = 0; i < 44; i++) maxErr = Math.max(maxErr, Math.abs(ref[i]! - j.outputs[0]![n * 44 + i]!));
    }
    if (g.quantization === 'fp32') assert.ok(maxErr <= 1e-5, `${g.name}: ${maxErr}`);
    else assert.ok(maxErr <= 8 * j.outputStep!, `${g.name}: ${maxErr / j.outputStep!} steps`);
  }
});

test('second opinion: ArmNN (Debian python3-pyarmnn, an independent parser) agrees on the golden fixtures', () => {
  requireTool('pyarmnn');
  const script = fileURLToPath(new URL('../../models/fixtures/armnn_check.py', import.meta.url));
  const r = spawnSync('/usr/bin/python3', [script], { encoding: 'utf8', timeout: 120_000 });
  assert.is(r.status, 0, r.stderr);
  const rows = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { name: string; maxAbsDiff: number; outputStep: number | null });
  assert.is(rows.length, GOLDEN_FIXTURES.length);
  for (const row of rows) {
    const tol = row.outputStep === null ? 1e-5 : row.outputStep * 1.001;
    assert.ok(row.maxAbsDiff <= tol, `${row.name}: ArmNN differs from tfjs-tflite by ${row.maxAbsDiff}`);
  }
  console.log(`\n[figure] ArmNN vs tfjs-tflite: ${rows.map((x) => `${x.name} ${x.maxAbsDiff.toExponential(1)}`).join(', ')}`);
});

test.run();
