/**
 * A trained temporal-conv generator (`kdp train --arch conv`) exports as its dense equivalent
 * (block-Toeplitz FULLY_CONNECTED weights) and that graph computes the conv:
 *   fp32 → our interpreter and tfjs-tflite equal the conv computed as convolutions within 1e-5;
 *   int8 → within 1 output step of the integer reference (both runtimes), and against the float conv
 *          within the bounds the MLP export test uses (mean ≤ 1.5 steps, p99 ≤ 6 steps).
 * The checkpoint and the manifest record the arch; a conv run resumes bit-identically.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateMaze2dDataset } from '../../src/envs/maze2d/generate.js';
import { writeD4rlHdf5 } from '../../src/data/d4rl-hdf5.js';
import { trainOnDataset, type TrainRunOptions } from '../../src/train/train-run.js';
import { DEFAULT_KDP_CONFIG } from '../../src/train/kdp-trainer.js';
import { loadCheckpoint, readCheckpointMeta, resolveCheckpoint } from '../../src/model/checkpoint-io.js';
import { convDenseSpec, convForwardReference, convParamCount, expandConvWeights, type ConvSpec } from '../../src/model/conv-spec.js';
import { exportCheckpoint } from '../../src/planner/export/export-checkpoint.js';
import { int8ReferenceForward, outputStep } from '../../src/planner/export/quant.js';
import { Interpreter } from '../../src/planner/runtime/interpreter.js';
import { CheckpointError } from '../../src/errors.js';
import { SeededRandom } from '../../src/util/rng.js';
import { loadTfliteOracle } from '../helpers/tfjs-tflite.js';

const dir = mkdtempSync(join(tmpdir(), 'kdp-conv-export-'));
const dataset = join(dir, 'umaze.hdf5');
const run = join(dir, 'conv');
const N = 64;

const config = {
  ...DEFAULT_KDP_CONFIG, arch: 'conv' as const, conv: { channels: 8, kernel: 5, layers: 2 },
  conditionsPerStep: 4, samplesPerCondition: 8, positivesPerCondition: 16, seed: 3,
};
const opts = (out: string, extra: Partial<TrainRunOptions> = {}): TrainRunOptions => ({
  dataset, env: 'maze2d-umaze', out, steps: 60, horizon: 16, frameSkip: 2, normalizer: 'zscore', config,
  checkpointEvery: 20, fresh: false, command: 'test', ...extra,
});

let conv: ConvSpec;
let freeEma: Float32Array;
const summary: string[] = [];

test.before(async () => {
  const r = await generateMaze2dDataset({ maze: 'maze2d-umaze', steps: 4000, seed: 1 });
  await writeD4rlHdf5(dataset, r.arrays, { stateDim: 4, actionDim: 2, goalDim: 2, qposDim: 2, qvelDim: 2 });
  await trainOnDataset(opts(run));
  const meta = readCheckpointMeta(run);
  conv = meta.conv!;
  // the free EMA parameters are the last quarter of a conv run's train-state.bin (ConvTrainer.packTrainState)
  const state = readFileSync(join(resolveCheckpoint(run).dir, 'train-state.bin'));
  const all = new Float32Array(state.buffer.slice(state.byteOffset, state.byteOffset + state.length));
  const n = convParamCount(conv);
  assert.is(all.length, 4 * n);
  freeEma = all.slice(3 * n);
});

test('the checkpoint records arch conv and its shape; weights.bin is the dense expansion of the free EMA', () => {
  const meta = readCheckpointMeta(run);
  assert.is(meta.arch, 'conv');
  assert.equal(conv, { noiseDim: 16, condDim: 6, horizon: 16, stepDim: 6, clampDims: 4, channels: 8, kernel: 5, layers: 2 });
  assert.equal(meta.mlp, convDenseSpec(conv));
  const ck = loadCheckpoint(run);
  const dense = new Float32Array(ck.weights.layers.reduce((n, l) => n + l.W.length + l.b.length, 0));
  expandConvWeights(conv, freeEma, dense);
  let off = 0;
  for (const l of ck.weights.layers) {
    for (const a of [l.W, l.b]) { for (let i = 0; i < a.length; i++) assert.is(a[i], dense[off + i], `dense weight ${off + i}`); off += a.length; }
  }
});

/** noise N(0, 1) and conditions drawn from the run's calibration rows (dataset conditions) */
function inputs(seed: number): [Float32Array, Float32Array] {
  const ck = loadCheckpoint(run);
  const rows = ck.calibrationConditions!;
  const dc = conv.condDim, r = new SeededRandom(seed);
  const noise = r.normals(N * conv.noiseDim);
  const cond = new Float32Array(N * dc);
  for (let n = 0; n < N; n++) cond.set(rows.subarray(((n * 37 + seed) % (rows.length / dc)) * dc, ((n * 37 + seed) % (rows.length / dc) + 1) * dc), n * dc);
  return [noise, cond];
}

function convReference(noise: Float32Array, cond: Float32Array): Float32Array {
  const outDim = convDenseSpec(conv).outputDim, nz = conv.noiseDim, dc = conv.condDim;
  const out = new Float32Array(N * outDim), row = new Float32Array(outDim);
  for (let n = 0; n < N; n++) {
    convForwardReference(conv, freeEma, [...noise.subarray(n * nz, (n + 1) * nz), ...cond.subarray(n * dc, (n + 1) * dc)], row);
    out.set(row, n * outDim);
  }
  return out;
}

test('fp32 export: our interpreter (wasm and reference kernels) and tfjs-tflite compute the conv within 1e-5', async () => {
  const ex = exportCheckpoint({ checkpoint: run, out: join(dir, 'model-fp32'), quantization: 'fp32', candidates: N });
  assert.equal(ex.manifest.generator, { arch: 'conv', conv, params: convParamCount(conv), exportedAs: 'dense' });
  const bytes = new Uint8Array(readFileSync(ex.modelPath));
  const oracle = await loadTfliteOracle(bytes);
  try {
    for (const backend of ['wasm', 'reference'] as const) {
      const it = Interpreter.fromBytes(bytes, { backend }).allocate();
      let worst = 0;
      for (let rep = 0; rep < 3; rep++) {
        const [noise, cond] = inputs(rep);
        const ref = convReference(noise, cond);
        it.setInput(0, noise); it.setInput(1, cond);
        it.invoke();
        const [tfl] = oracle.infer([noise, cond]);
        const ours = it.outputView(0);
        for (let i = 0; i < ref.length; i++) {
          worst = Math.max(worst, Math.abs(ours[i]! - ref[i]!), Math.abs(tfl![i]! - ref[i]!));
        }
      }
      assert.ok(worst <= 1e-5, `${backend}: max |runtime − conv| = ${worst}`);
      summary.push(`fp32 conv export (${backend} + tfjs-tflite) vs the conv: max err ${worst.toExponential(2)}`);
    }
  } finally {
    oracle.close();
  }
});

test('int8 export: both runtimes within 1 step of the integer reference; vs the float conv within the MLP export bounds', async () => {
  const ex = exportCheckpoint({ checkpoint: run, out: join(dir, 'model-int8'), quantization: 'int8', candidates: N });
  const net = ex.export.int8!;
  const step = outputStep(net);
  const bytes = new Uint8Array(readFileSync(ex.modelPath));
  const oracle = await loadTfliteOracle(bytes);
  const it = Interpreter.fromBytes(bytes).allocate();
  const outDim = convDenseSpec(conv).outputDim, nz = conv.noiseDim, dc = conv.condDim;
  const q = new Float32Array(outDim);
  let maxInt = 0, sumFloat = 0, count = 0;
  const errs: number[] = [];
  try {
    for (let rep = 0; rep < 4; rep++) {
      const [noise, cond] = inputs(100 + rep);
      const ref = convReference(noise, cond);
      it.setInput(0, noise); it.setInput(1, cond);
      it.invoke();
      const ours = it.outputView(0);
      const [tfl] = oracle.infer([noise, cond]);
      for (let n = 0; n < N; n++) {
        int8ReferenceForward(net, noise.subarray(n * nz, (n + 1) * nz), cond.subarray(n * dc, (n + 1) * dc), q);
        for (let i = 0; i < outDim; i++) {
          const k = n * outDim + i;
          maxInt = Math.max(maxInt, Math.abs(ours[k]! - q[i]!), Math.abs(tfl![k]! - q[i]!));
          const e = Math.abs(ours[k]! - ref[k]!);
          sumFloat += e; count++; errs.push(e);
        }
      }
    }
  } finally {
    oracle.close();
  }
  assert.ok(maxInt <= step * 1.001, `int8 runtimes vs integer reference: ${(maxInt / step).toFixed(2)} steps`);
  errs.sort((a, b) => a - b);
  const meanSteps = sumFloat / count / step, p99Steps = errs[Math.floor(0.99 * (errs.length - 1))]! / step;
  assert.ok(meanSteps <= 1.5, `int8 vs float conv: mean ${meanSteps.toFixed(2)} steps`);
  assert.ok(p99Steps <= 6, `int8 vs float conv: p99 ${p99Steps.toFixed(2)} steps`);
  summary.push(`int8 conv export: vs int reference ${(maxInt / step).toFixed(2)} steps; vs float conv mean ${meanSteps.toFixed(2)} / p99 ${p99Steps.toFixed(2)} steps (step ${step.toExponential(2)}); arena ${ex.arenaBytes} B`);
});

test('an interrupted conv run resumes bit-identically (free weights, moments and EMA in train-state.bin)', async () => {
  const b = join(dir, 'conv-resumed');
  const ctl = new AbortController();
  const first = await trainOnDataset(opts(b, { signal: ctl.signal, onStep: (s) => { if (s.step === 33) ctl.abort(); } }));
  assert.ok(first.interrupted);
  const second = await trainOnDataset(opts(b));
  assert.is(second.resumedFrom, 33);
  const ga = resolveCheckpoint(run).dir, gb = resolveCheckpoint(b).dir;
  for (const f of ['weights.bin', 'train-state.bin']) assert.ok(Buffer.compare(readFileSync(join(ga, f)), readFileSync(join(gb, f))) === 0, `${f} identical`);
});

test('resuming a conv run as an mlp (or with another conv shape) is refused with a typed error', async () => {
  for (const other of [{ ...config, arch: 'mlp' as const }, { ...config, conv: { channels: 4, kernel: 5, layers: 2 } }]) {
    try {
      await trainOnDataset(opts(run, { steps: 80, config: other }));
      assert.unreachable('should refuse');
    } catch (e) {
      assert.instance(e, CheckpointError);
      assert.match((e as Error).message, /different run/);
    }
  }
});

test('checkpoints without arch (older trainers) load as mlp; an unknown arch or a conv that does not match its dense spec is a CheckpointError', () => {
  const gen = resolveCheckpoint(run).dir;
  const meta = JSON.parse(readFileSync(join(gen, 'checkpoint.json'), 'utf8')) as Record<string, unknown>;
  // one flat folder per case (a single generation: no fallback to an older one hides the refusal)
  const flat = (m: Record<string, unknown>): string => {
    const d = mkdtempSync(join(dir, 'flat-'));
    copyFileSync(join(gen, 'weights.bin'), join(d, 'weights.bin'));
    const { trainState: _t, ...files } = m.files as Record<string, unknown>;
    writeFileSync(join(d, 'checkpoint.json'), JSON.stringify({ ...m, files }));
    return d;
  };
  // as older trainers wrote it: no arch, no conv (the dense weights load as an MLP)
  const { arch: _a, conv: _c, ...old } = meta;
  const ck = loadCheckpoint(flat(old));
  assert.is(ck.meta.arch, undefined);
  assert.is(ck.weights.layers.length, 4);
  for (const [bad, msg] of [
    [{ ...meta, arch: 'rnn' }, /unknown generator arch "rnn"/],
    [{ ...meta, arch: 'transformer' }, /arch transformer without a transformer shape/],
    [{ ...meta, conv: { ...(meta.conv as object), channels: 4 } }, /does not expand to the recorded mlp/],
    [{ ...meta, conv: undefined }, /arch conv without a conv shape/],
  ] as const) {
    try {
      loadCheckpoint(flat(bad));
      assert.unreachable('should refuse');
    } catch (e) {
      assert.instance(e, CheckpointError);
      assert.match((e as Error).message, msg);
      assert.ok((e as CheckpointError).hint, 'has a hint');
    }
  }
});

test.after(() => {
  console.log('\n' + summary.map((l) => `[figure] ${l}`).join('\n'));
});

test.run();
