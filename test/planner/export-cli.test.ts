/**
 * `kdp export` end to end on a fixture checkpoint: --json result, manifest contents, the exported
 * file running in tfjs-tflite, typed errors with hints, and atomic output (no partial files).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CheckpointError, ModelError } from '../../src/errors.js';
import { exportCheckpoint } from '../../src/planner/export/export-checkpoint.js';
import { SeededRandom } from '../../src/util/rng.js';
import { int8ReferenceForward, outputStep } from '../../src/planner/export/quant.js';
import type { ModelManifest } from '../../src/planner/manifest.js';
import { Interpreter } from '../../src/planner/runtime/interpreter.js';
import { readTflite } from '../../src/planner/tflite/reader.js';
import { runKdp } from '../helpers/cli.js';
import { makeFixtureCheckpoint } from '../helpers/fixture-checkpoint.js';
import { loadTfliteOracle } from '../helpers/tfjs-tflite.js';

const root = mkdtempSync(join(tmpdir(), 'kdp-export-'));
const FIX = { noiseDim: 8, condDim: 6, hidden: [64, 64], outDim: 44, activation: 'silu' as const, seed: 7 };
const ck = makeFixtureCheckpoint(join(root, 'runs', 'umaze'), FIX);

test('kdp export --json on a fixture checkpoint (int8)', async () => {
  const out = join(root, 'models', 'maze2d-umaze');
  const r = runKdp(['export', '--checkpoint', ck.dir, '--out', out, '--quantize', 'int8', '--calibration', '512', '--candidates', '16', '--json']);
  assert.is(r.status, 0, r.stderr);
  const res = JSON.parse(r.stdout.trim()) as { out: string; quantization: string; bytes: number; sha256: string; arenaBytes: number };
  assert.equal(Object.keys(res).sort(), ['arenaBytes', 'bestByEval', 'bytes', 'out', 'quantization', 'sha256', 'step']);
  assert.is(res.quantization, 'int8');
  const bytes = new Uint8Array(readFileSync(join(out, 'model.tflite')));
  assert.is(bytes.length, res.bytes);
  assert.is(createHash('sha256').update(bytes).digest('hex'), res.sha256);
  const m = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as ModelManifest;
  assert.is(m.format, 'kdp-model');
  assert.is(m.name, 'maze2d-umaze');
  assert.equal(m.model, { file: 'model.tflite', sha256: res.sha256, bytes: res.bytes, quantization: 'int8', weightBits: 8 });
  assert.equal(m.inputs, [{ name: 'noise', shape: [16, 8], dtype: 'float32' }, { name: 'condition', shape: [16, 6], dtype: 'float32' }]);
  assert.equal(m.outputs, [{ name: 'plan', shape: [16, 44], dtype: 'float32' }]);
  assert.is(m.candidates, 16);
  assert.is(m.noiseDim, 8);
  assert.is(m.arenaBytes, res.arenaBytes);
  assert.equal(m.layout, ck.meta.layout);
  assert.equal(m.normalizer, ck.meta.normalizer);
  assert.equal(m.conditionNames, ['x', 'y', 'vx', 'vy', 'goal_x', 'goal_y']);
  assert.equal(m.provenance.calibration, { samples: 512, source: 'calibration-conditions' });
  assert.is(m.provenance.trainingSteps, 1000);
  assert.is(m.provenance.seed, 7);
  assert.is(m.provenance.datasetCommand, ck.meta.provenance.datasetCommand);
  assert.is(m.provenance.commit, 'fixture');
  assert.ok(m.quantization?.noise && m.quantization.plan);
  // no temp files left behind
  assert.equal(readdirSync(out).sort(), ['manifest.json', 'model.tflite']);

  // the written file runs in real TFLite and matches the integer reference on dataset conditions
  const ex = exportCheckpoint({ checkpoint: ck.dir, out: join(root, 'models', 'again'), calibration: 512, candidates: 16 });
  assert.is(ex.sha256, res.sha256, 'deterministic export');
  const oracle = await loadTfliteOracle(bytes);
  const rng = new SeededRandom(1);
  const noise = rng.normals(16 * 8);
  const cond = ck.calibration!.subarray(0, 16 * 6);
  const [plan] = oracle.infer([noise, cond]);
  oracle.close();
  const refQ = new Float32Array(44);
  const step = outputStep(ex.export.int8!);
  for (let n = 0; n < 16; n++) {
    int8ReferenceForward(ex.export.int8!, noise.subarray(n * 8, n * 8 + 8), cond.subarray(n * 6, n * 6 + 6), refQ);
    for (let i = 0; i < 44; i++) assert.ok(Math.abs(plan![n * 44 + i]! - refQ[i]!) <= step * 1.001);
  }
});

test('kdp export --weight-bits 6: 6-bit weights in int8 tensors, recorded in the manifest, run on the relaxed kernel; bad values refused', async () => {
  const out = join(root, 'models', 'w6');
  const r = runKdp(['export', '--checkpoint', ck.dir, '--out', out, '--weight-bits', '6', '--candidates', '4', '--json']);
  assert.is(r.status, 0, r.stderr);
  const m = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as ModelManifest;
  assert.is(m.model.weightBits, 6);
  const it = Interpreter.fromBytes(new Uint8Array(readFileSync(join(out, 'model.tflite'))), { backend: 'wasm' });
  assert.equal(it.kernelKinds.filter((k) => k.startsWith('fc')), ['fc_i6', 'fc_i6', 'fc_i6']);
  const bad = runKdp(['export', '--checkpoint', ck.dir, '--out', join(root, 'models', 'w5'), '--weight-bits', '5']);
  assert.is(bad.status, 2);
  assert.match(bad.stderr, /weight-bits/);
  assert.not.ok(existsSync(join(root, 'models', 'w5')));
});

test('kdp export --quantize fp32 (human output); no calibration recorded', () => {
  const out = join(root, 'models', 'fp32');
  const r = runKdp(['export', '--checkpoint', ck.dir, '--out', out, '--quantize', 'fp32']);
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /wrote .*model\.tflite/);
  const m = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as ModelManifest;
  assert.is(m.model.quantization, 'fp32');
  assert.is(m.provenance.calibration, undefined);
  assert.is(m.quantization, undefined);
  assert.equal(readTflite(new Uint8Array(readFileSync(join(out, 'model.tflite')))).operatorCodes.map((c) => c.opName),
    ['CONCATENATION', 'FULLY_CONNECTED', 'LOGISTIC', 'MUL']);
});

test('no calibration-conditions.bin → standard-normal calibration recorded in provenance', () => {
  const dir = join(root, 'runs', 'nocal');
  makeFixtureCheckpoint(dir, { ...FIX, activation: 'relu', calibrationRows: 0 });
  const r = exportCheckpoint({ checkpoint: dir, out: join(root, 'models', 'nocal'), calibration: 64 });
  assert.equal(r.manifest.provenance.calibration, { samples: 64, source: 'standard-normal' });
});

test('missing checkpoint → CheckpointError with a hint (library and CLI)', () => {
  const out = join(root, 'models', 'never');
  try {
    exportCheckpoint({ checkpoint: join(root, 'runs', 'missing'), out });
    assert.unreachable();
  } catch (e) {
    assert.instance(e, CheckpointError);
    assert.ok((e as CheckpointError).hint);
  }
  const r = runKdp(['export', '--checkpoint', join(root, 'runs', 'missing'), '--out', out, '--json']);
  assert.is(r.status, 1);
  assert.is((JSON.parse(r.stdout.trim()) as { code: string }).code, 'E_CHECKPOINT');
  assert.match(r.stderr, /→/);
  // a directory without checkpoint.json
  mkdirSync(join(root, 'runs', 'empty'), { recursive: true });
  assert.throws(() => exportCheckpoint({ checkpoint: join(root, 'runs', 'empty'), out }), (e: unknown) => e instanceof CheckpointError && /checkpoint\.json/.test((e as Error).message));
  assert.not.ok(existsSync(out), 'nothing written');
});

test('atomic output: a failing export leaves the previous model untouched and no partial files', () => {
  const out = join(root, 'models', 'keep');
  exportCheckpoint({ checkpoint: ck.dir, out, calibration: 64 });
  const before = { model: readFileSync(join(out, 'model.tflite')), manifest: readFileSync(join(out, 'manifest.json')) };
  // corrupt the weights (sha mismatch) in a copy of the checkpoint
  const bad = join(root, 'runs', 'bad');
  makeFixtureCheckpoint(bad, FIX);
  const wb = readFileSync(join(bad, 'weights.bin'));
  wb[10] = (wb[10]! ^ 0xff) & 0xff;
  writeFileSync(join(bad, 'weights.bin'), wb);
  assert.throws(() => exportCheckpoint({ checkpoint: bad, out }), (e: unknown) => e instanceof CheckpointError && /sha256/.test((e as Error).message));
  assert.ok(readFileSync(join(out, 'model.tflite')).equals(before.model));
  assert.ok(readFileSync(join(out, 'manifest.json')).equals(before.manifest));
  assert.equal(readdirSync(out).sort(), ['manifest.json', 'model.tflite']);
  // truncated weights
  writeFileSync(join(bad, 'weights.bin'), wb.subarray(0, 100));
  assert.throws(() => exportCheckpoint({ checkpoint: bad, out }), (e: unknown) => e instanceof CheckpointError);
  // --out is an existing file → typed error, no temp files next to it
  const fileOut = join(root, 'models', 'a-file');
  writeFileSync(fileOut, 'x');
  assert.throws(() => exportCheckpoint({ checkpoint: ck.dir, out: fileOut, calibration: 64 }), (e: unknown) => e instanceof ModelError && (e as ModelError).code === 'E_MODEL_IO');
  assert.ok(readdirSync(join(root, 'models')).every((n) => !n.endsWith('.tmp')));
});

test('usage errors: bad --quantize and missing --out exit 2', () => {
  assert.is(runKdp(['export', '--checkpoint', ck.dir, '--out', join(root, 'x'), '--quantize', 'int4']).status, 2);
  assert.is(runKdp(['export', '--checkpoint', ck.dir]).status, 2);
});

test.after(() => rmSync(root, { recursive: true, force: true }));

test.run();
