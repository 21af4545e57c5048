/**
 * A trained transformer generator (`kdp train --arch transformer`) exports with its attention ops
 * (BATCH_MATMUL, SOFTMAX) and the graph computes the trained network:
 *   fp32 → our interpreter (WASM and reference kernels) and tfjs-tflite equal the float64 forward of the
 *          checkpoint's EMA weights (the trainer's forward, test/train/transformer-trainer.test.ts) within 1e-5;
 *   int8 → against the float network within mean ≤ 1.5 / p99 ≤ 8 output steps; against tfjs-tflite
 *          mean ≤ 0.3, max ≤ 8 steps. BATCH_MATMUL and SOFTMAX alone are bit-exact with tfjs-tflite
 *          (attention-ops.test.ts), but this runtime's int8 ADD is TFLite's reference arithmetic while
 *          tfjs-tflite runs XNNPACK's, which differs by one step on ~0.1–1% of elements; through the
 *          residual adds and the softmax those ties move a few outputs by several steps.
 * The checkpoint and the manifest record the arch; a transformer run resumes bit-identically.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateMaze2dDataset } from '../../src/envs/maze2d/generate.js';
import { writeD4rlHdf5 } from '../../src/data/d4rl-hdf5.js';
import { trainOnDataset, type TrainRunOptions } from '../../src/train/train-run.js';
import { DEFAULT_KDP_CONFIG } from '../../src/train/kdp-trainer.js';
import { loadCheckpoint, readCheckpointMeta, resolveCheckpoint } from '../../src/model/checkpoint-io.js';
import { transformerForwardReference, transformerIoSpec, transformerMacs, transformerParamCount, type TransformerSpec } from '../../src/model/transformer-spec.js';
import { exportCheckpoint } from '../../src/planner/export/export-checkpoint.js';
import { Interpreter } from '../../src/planner/runtime/interpreter.js';
import { CheckpointError } from '../../src/errors.js';
import { SeededRandom } from '../../src/util/rng.js';
import { loadTfliteOracle } from '../helpers/tfjs-tflite.js';

const dir = mkdtempSync(join(tmpdir(), 'kdp-tf-export-'));
const dataset = join(dir, 'umaze.hdf5');
const run = join(dir, 'tf');
const N = 16;

const config = {
  ...DEFAULT_KDP_CONFIG, arch: 'transformer' as const, transformer: { channels: 8, layers: 2, ff: 16, trunk: [32] },
  conditionsPerStep: 4, samplesPerCondition: 8, positivesPerCondition: 16, seed: 3,
};
const opts = (out: string, extra: Partial<TrainRunOptions> = {}): TrainRunOptions => ({
  dataset, env: 'maze2d-umaze', out, steps: 40, horizon: 16, frameSkip: 2, normalizer: 'zscore', config,
  checkpointEvery: 20, fresh: false, command: 'test', ...extra,
});

let spec: TransformerSpec;
const summary: string[] = [];

test.before(async () => {
  const r = await generateMaze2dDataset({ maze: 'maze2d-umaze', steps: 4000, seed: 1 });
  await writeD4rlHdf5(dataset, r.arrays, { stateDim: 4, actionDim: 2, goalDim: 2, qposDim: 2, qvelDim: 2 });
  await trainOnDataset(opts(run));
  spec = readCheckpointMeta(run).transformer!;
});

test('the checkpoint records arch transformer, its shape and its I/O; weights.bin holds the flat parameters', () => {
  const meta = readCheckpointMeta(run);
  assert.is(meta.arch, 'transformer');
  assert.equal(spec, { noiseDim: 16, condDim: 6, horizon: 16, stepDim: 6, clampDims: 4, channels: 8, layers: 2, ff: 16, trunk: [32] });
  assert.equal(meta.mlp, transformerIoSpec(spec));
  const ck = loadCheckpoint(run);
  assert.is(ck.flat.length, transformerParamCount(spec));
  assert.is(ck.weights.layers.length, 0);
});

function inputs(seed: number): [Float32Array, Float32Array] {
  const rows = loadCheckpoint(run).calibrationConditions!;
  const dc = spec.condDim, r = new SeededRandom(seed), nRows = rows.length / dc;
  const noise = r.normals(N * spec.noiseDim);
  const cond = new Float32Array(N * dc);
  for (let n = 0; n < N; n++) { const k = (n * 37 + seed) % nRows; cond.set(rows.subarray(k * dc, (k + 1) * dc), n * dc); }
  return [noise, cond];
}

function floatReference(noise: Float32Array, cond: Float32Array): Float32Array {
  const flat = loadCheckpoint(run).flat;
  const outDim = transformerIoSpec(spec).outputDim, nz = spec.noiseDim, dc = spec.condDim;
  const out = new Float32Array(N * outDim), row = new Float32Array(outDim);
  for (let n = 0; n < N; n++) {
    transformerForwardReference(spec, flat, [...noise.subarray(n * nz, (n + 1) * nz), ...cond.subarray(n * dc, (n + 1) * dc)], row);
    out.set(row, n * outDim);
  }
  return out;
}

test('fp32 export: our interpreter (wasm and reference kernels) and tfjs-tflite compute the trained transformer within 1e-5', async () => {
  const ex = exportCheckpoint({ checkpoint: run, out: join(dir, 'model-fp32'), quantization: 'fp32', candidates: N });
  assert.equal(ex.manifest.generator, { arch: 'transformer', transformer: spec, params: transformerParamCount(spec), macs: transformerMacs(spec), exportedAs: 'attention' });
  const bytes = new Uint8Array(readFileSync(ex.modelPath));
  const oracle = await loadTfliteOracle(bytes);
  try {
    for (const backend of ['wasm', 'reference'] as const) {
      const it = Interpreter.fromBytes(bytes, { backend }).allocate();
      assert.ok(it.kernelKinds.includes('bmm_f32') && it.kernelKinds.includes('softmax_f32'), `kernels: ${it.kernelKinds.join(',')}`);
      let worst = 0;
      for (let rep = 0; rep < 3; rep++) {
        const [noise, cond] = inputs(rep);
        const ref = floatReference(noise, cond);
        it.setInput(0, noise); it.setInput(1, cond);
        it.invoke();
        const [tfl] = oracle.infer([noise, cond]);
        const ours = it.outputView(0);
        for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(ours[i]! - ref[i]!), Math.abs(tfl![i]! - ref[i]!));
      }
      assert.ok(worst <= 1e-5, `${backend}: max |runtime − transformer| = ${worst}`);
      summary.push(`fp32 transformer export (${backend} + tfjs-tflite) vs float64 forward: max err ${worst.toExponential(2)}`);
    }
  } finally {
    oracle.close();
  }
});

test('int8 export: vs the float transformer mean ≤ 1.5, p99 ≤ 8 output steps; vs tfjs-tflite mean ≤ 0.3, max ≤ 8 steps', async () => {
  const ex = exportCheckpoint({ checkpoint: run, out: join(dir, 'model-int8'), quantization: 'int8', candidates: N, weightBits: 6 });
  const step = ex.export.boundaryQuantization!.plan!.scale;
  const bytes = new Uint8Array(readFileSync(ex.modelPath));
  const oracle = await loadTfliteOracle(bytes);
  let maxTf = 0, sumTf = 0, sum = 0, count = 0;
  const errs: number[] = [];
  try {
    for (const backend of ['wasm', 'reference'] as const) {
      const it = Interpreter.fromBytes(bytes, { backend }).allocate();
      assert.ok(it.kernelKinds.includes('bmm_i8') && it.kernelKinds.includes('softmax_i8'), `kernels: ${it.kernelKinds.join(',')}`);
      for (let rep = 0; rep < 4; rep++) {
        const [noise, cond] = inputs(100 + rep);
        const ref = floatReference(noise, cond);
        it.setInput(0, noise); it.setInput(1, cond);
        it.invoke();
        const ours = it.outputView(0);
        const [tfl] = oracle.infer([noise, cond]);
        for (let k = 0; k < ref.length; k++) {
          maxTf = Math.max(maxTf, Math.abs(ours[k]! - tfl![k]!)); sumTf += Math.abs(ours[k]! - tfl![k]!);
          const e = Math.abs(ours[k]! - ref[k]!);
          sum += e; count++; errs.push(e);
        }
      }
    }
  } finally {
    oracle.close();
  }
  errs.sort((a, b) => a - b);
  const meanSteps = sum / count / step, p99Steps = errs[Math.floor(0.99 * (errs.length - 1))]! / step;
  summary.push(`int8 transformer export (6-bit weights): vs tfjs-tflite mean ${(sumTf / count / step).toFixed(3)} / max ${(maxTf / step).toFixed(2)} steps; vs float mean ${meanSteps.toFixed(2)} / p99 ${p99Steps.toFixed(2)} steps (step ${step.toExponential(2)}); arena ${ex.arenaBytes} B`);
  assert.ok(maxTf <= 8 * step * 1.001 && sumTf / count <= 0.3 * step, `int8 vs tfjs-tflite: mean ${(sumTf / count / step).toFixed(3)}, max ${(maxTf / step).toFixed(2)} steps`);
  assert.ok(meanSteps <= 1.5, `int8 vs float transformer: mean ${meanSteps.toFixed(2)} steps`);
  assert.ok(p99Steps <= 8, `int8 vs float transformer: p99 ${p99Steps.toFixed(2)} steps`);
});

test('an interrupted transformer run resumes bit-identically; resuming it as an mlp is refused', async () => {
  const b = join(dir, 'tf-resumed');
  const ctl = new AbortController();
  const first = await trainOnDataset(opts(b, { signal: ctl.signal, onStep: (s) => { if (s.step === 23) ctl.abort(); } }));
  assert.ok(first.interrupted);
  const second = await trainOnDataset(opts(b));
  assert.is(second.resumedFrom, 23);
  assert.is(second.arch, 'transformer');
  const ga = resolveCheckpoint(run).dir, gb = resolveCheckpoint(b).dir;
  for (const f of ['weights.bin', 'train-state.bin']) assert.ok(Buffer.compare(readFileSync(join(ga, f)), readFileSync(join(gb, f))) === 0, `${f} identical`);
  try {
    await trainOnDataset(opts(run, { steps: 60, config: { ...config, arch: 'mlp' as const } }));
    assert.unreachable('should refuse');
  } catch (e) {
    assert.instance(e, CheckpointError);
    assert.match((e as Error).message, /different run/);
  }
});

test.after(() => { console.log(`\n[figure] ${summary.join('\n[figure] ')}`); });

test.run();
