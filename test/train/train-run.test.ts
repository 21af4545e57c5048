import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateMaze2dDataset } from '../../src/envs/maze2d/generate.js';
import { writeD4rlHdf5 } from '../../src/data/d4rl-hdf5.js';
import { trainOnDataset, type TrainRunOptions } from '../../src/train/train-run.js';
import { DEFAULT_KDP_CONFIG } from '../../src/train/kdp-trainer.js';
import { readCheckpointMeta, resolveCheckpoint } from '../../src/model/checkpoint-io.js';
import { CheckpointError, DatasetError, KdpError, UnknownEnvError, UsageError } from '../../src/errors.js';
import { writeDatasetProvenance } from '../../src/data/provenance.js';
import { runKdp } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'kdp-train-'));
const dataset = join(dir, 'umaze.hdf5');

const tiny = { ...DEFAULT_KDP_CONFIG, conditionsPerStep: 4, samplesPerCondition: 8, positivesPerCondition: 16, hidden: [32, 32], noiseDim: 4, seed: 3 };
const opts = (out: string, extra: Partial<TrainRunOptions> = {}): TrainRunOptions => ({
  dataset, env: 'maze2d-umaze', out, steps: 40, horizon: 8, frameSkip: 2, normalizer: 'zscore', config: tiny,
  checkpointEvery: 10, fresh: false, command: 'test', ...extra,
});

test.before(async () => {
  const r = await generateMaze2dDataset({ maze: 'maze2d-umaze', steps: 4000, seed: 1 });
  await writeD4rlHdf5(dataset, r.arrays, { stateDim: 4, actionDim: 2, goalDim: 2, qposDim: 2, qvelDim: 2 });
});

test('an interrupted run resumes from its checkpoint and ends bit-identical to an uninterrupted one', async () => {
  const a = join(dir, 'a'), b = join(dir, 'b');
  const straight = await trainOnDataset(opts(a));
  assert.is(straight.steps, 40);
  const ctl = new AbortController();
  const first = await trainOnDataset(opts(b, { signal: ctl.signal, onStep: (s) => { if (s.step === 23) ctl.abort(); } }));
  assert.ok(first.interrupted);
  assert.is(readCheckpointMeta(b).step, 23, 'the interrupt saved the step it stopped at');
  const second = await trainOnDataset(opts(b));
  assert.is(second.resumedFrom, 23);
  assert.is(second.steps, 40);
  const ga = resolveCheckpoint(a).dir, gb = resolveCheckpoint(b).dir;
  assert.ok(Buffer.compare(readFileSync(join(ga, 'weights.bin')), readFileSync(join(gb, 'weights.bin'))) === 0, 'EMA weights identical');
  assert.ok(Buffer.compare(readFileSync(join(ga, 'train-state.bin')), readFileSync(join(gb, 'train-state.bin'))) === 0, 'optimizer state identical');
  const meta = readCheckpointMeta(a);
  assert.is(meta.layout.horizon, 8);
  assert.is(meta.mlp.outputDim, 8 * 6 - 4);
  assert.equal(meta.normalizer.state.shift.length, 4);
});

test('a checkpoint whose only generation was truncated is refused with a typed error', async () => {
  const c = join(dir, 'c');
  await trainOnDataset(opts(c, { steps: 10 }));
  truncateSync(join(resolveCheckpoint(c).dir, 'train-state.bin'), 100);
  try {
    await trainOnDataset(opts(c, { steps: 20 }));
    assert.unreachable('should throw');
  } catch (e) {
    assert.instance(e, CheckpointError);
    assert.match((e as Error).message, /does not match checkpoint\.json/);
  }
});

test('resuming with a different network is refused; --fresh starts over', async () => {
  const c = join(dir, 'd');
  await trainOnDataset(opts(c, { steps: 10 }));
  try {
    await trainOnDataset(opts(c, { steps: 20, config: { ...tiny, hidden: [16] } }));
    assert.unreachable('should throw');
  } catch (e) {
    assert.instance(e, CheckpointError);
    assert.match((e as KdpError).message, /--fresh/);
  }
  const fresh = await trainOnDataset(opts(c, { steps: 5, fresh: true, config: { ...tiny, hidden: [16] } }));
  assert.is(fresh.resumedFrom, null);
});

test('resuming with another --seed is refused (it could not take effect); a finished run says there is nothing to do', async () => {
  const c = join(dir, 'seed');
  await trainOnDataset(opts(c, { steps: 10 }));
  try {
    await trainOnDataset(opts(c, { steps: 20, config: { ...tiny, seed: 4 } }));
    assert.unreachable('should throw');
  } catch (e) {
    assert.instance(e, CheckpointError);
    assert.match((e as KdpError).message, /--seed 3.*--seed 4/);
    assert.match((e as KdpError).hint ?? '', /--fresh/);
  }
  try {
    await trainOnDataset(opts(c, { steps: 10 }));
    assert.unreachable('should throw');
  } catch (e) {
    assert.instance(e, UsageError);
    assert.match((e as KdpError).message, /already trained for 10 steps/);
    assert.match((e as KdpError).hint ?? '', /raise --steps/);
  }
});

test('a kdp dataset made for another env is refused (same dims, other maze)', async () => {
  const ds = join(dir, 'prov.hdf5');
  writeFileSync(ds, readFileSync(dataset));
  writeDatasetProvenance(ds, { command: 'kdp dataset maze2d --maze umaze', seed: 1, steps: 4000, env: 'maze2d-umaze' });
  try {
    await trainOnDataset(opts(join(dir, 'prov'), { dataset: ds, env: 'maze2d-large' }));
    assert.unreachable('should throw');
  } catch (e) {
    assert.instance(e, UsageError);
    assert.match((e as KdpError).message, /was made for maze2d-umaze/);
    assert.match((e as KdpError).hint ?? '', /--env maze2d-umaze/);
  }
});

test('missing or corrupt dataset and unknown env give typed errors', async () => {
  try { await trainOnDataset(opts(join(dir, 'e'), { dataset: join(dir, 'nope.hdf5') })); assert.unreachable(); } catch (e) { assert.instance(e, DatasetError); }
  const bad = join(dir, 'bad.hdf5');
  writeFileSync(bad, 'this is not hdf5');
  try { await trainOnDataset(opts(join(dir, 'e'), { dataset: bad })); assert.unreachable(); } catch (e) { assert.instance(e, DatasetError); }
  try { await trainOnDataset(opts(join(dir, 'e'), { env: 'maze2d-tiny' })); assert.unreachable(); } catch (e) { assert.instance(e, UnknownEnvError); }
});

test('kdp train CLI: usage errors and JSON result', () => {
  const r = runKdp(['train', '--env', 'maze2d-umaze', '--out', join(dir, 'f')]);
  assert.is(r.status, 2);
  assert.match(r.stderr, /--dataset is required/);
  const ok = runKdp(['train', '--dataset', dataset, '--env', 'maze2d-umaze', '--out', join(dir, 'g'), '--steps', '3', '--horizon', '8',
    '--hidden', '16', '--conditions', '2', '--samples', '4', '--positives', '8', '--json']);
  assert.is(ok.status, 0, ok.stderr);
  const res = JSON.parse(ok.stdout.trim().split('\n').pop()!) as { steps: number; out: string };
  assert.is(res.steps, 3);
  const unknown = runKdp(['train', '--dataset', dataset, '--env', 'nowhere', '--out', join(dir, 'h')]);
  assert.is(unknown.status, 1);
  assert.match(unknown.stderr, /E_UNKNOWN_ENV/);
});

test('kdp train --arch: mlp by default, conv trains and is recorded; an unknown arch or a bad conv shape is a usage error', () => {
  const help = runKdp(['train', '--help']);
  assert.is(help.status, 0);
  assert.match(help.stdout, /--arch mlp\|conv/);
  assert.match(help.stdout, /--channels C/);
  const small = ['--dataset', dataset, '--env', 'maze2d-umaze', '--steps', '3', '--horizon', '8', '--conditions', '2', '--samples', '4', '--positives', '8', '--json'];
  for (const [args, msg] of [
    [['--arch', 'rnn'], /--arch must be one of mlp\|conv\|transformer, got "rnn"/],
    [['--arch', 'transformer', '--tf-trunk', 'wide'], /--tf-trunk must be comma-separated positive integers or none/],
    [['--arch', 'transformer', '--hidden', '64'], /--hidden applies to --arch mlp; the transformer's shape is set by the --tf-\* flags/],
    [['--arch', 'transformer', '--tf-channels', '0'], /--tf-channels/],
    [['--tf-layers', '3'], /--tf-layers applies to --arch transformer/],
    [['--arch', 'conv', '--conv-kernel', '4'], /--conv-kernel must be odd/],
    [['--arch', 'conv', '--conv-kernel', '21'], /wider than the window/],
    [['--arch', 'conv', '--conv-trunk', 'wide'], /--conv-trunk must be comma-separated positive integers or none/],
    [['--arch', 'conv', '--hidden', '64'], /--hidden applies to --arch mlp/],
    [['--arch', 'conv', '--channels', '0'], /--channels/],
    [['--arch', 'conv', '--conv-trunk', '64,0'], /--conv-trunk must be comma-separated positive integers or none/],
    [['--channels', '4'], /--channels applies to --arch conv/],
    [['--arch', 'conv', '--conv-upsample', '8'], /upsample must be an integer 1…7/],
  ] as const) {
    const r = runKdp(['train', ...small, '--out', join(dir, 'arch-bad'), ...args]);
    assert.is(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /E_USAGE/);
    assert.match(r.stderr, msg);
    assert.not.match(r.stderr, /\n\s+at /, 'no stack trace');
  }
  const mlp = runKdp(['train', ...small, '--hidden', '16', '--out', join(dir, 'arch-mlp')]);
  assert.is(mlp.status, 0, mlp.stderr);
  const m = JSON.parse(mlp.stdout.trim().split('\n').pop()!) as { arch: string; params: number };
  assert.is(m.arch, 'mlp');
  assert.is(m.params, 22 * 16 + 16 + 16 * 44 + 44);
  assert.is(readCheckpointMeta(join(dir, 'arch-mlp')).arch, 'mlp');
  const conv = runKdp(['train', ...small, '--arch', 'conv', '--channels', '4', '--conv-kernel', '3', '--conv-layers', '1', '--conv-trunk', 'none', '--out', join(dir, 'arch-conv')]);
  assert.is(conv.status, 0, conv.stderr);
  const c = JSON.parse(conv.stdout.trim().split('\n').pop()!) as { arch: string; params: number };
  assert.is(c.arch, 'conv');
  assert.is(c.params, 22 * 32 + 32 + (4 * 4 * 3 + 4) + 6 * 4 + 6);
  const meta = readCheckpointMeta(join(dir, 'arch-conv'));
  assert.is(meta.arch, 'conv');
  assert.equal(meta.conv, { noiseDim: 16, condDim: 6, horizon: 8, stepDim: 6, clampDims: 4, channels: 4, kernel: 3, layers: 1 });
  assert.equal(meta.mlp.hidden, [32, 32]);
  const tf = runKdp(['train', ...small, '--arch', 'transformer', '--tf-channels', '4', '--tf-layers', '1', '--tf-ff', '5', '--tf-trunk', 'none', '--out', join(dir, 'arch-tf')]);
  assert.is(tf.status, 0, tf.stderr);
  const t = JSON.parse(tf.stdout.trim().split('\n').pop()!) as { arch: string; params: number };
  assert.is(t.arch, 'transformer');
  // expansion 22 → 8·4, one block (q, k, v, o: 4·4 + 4 each; 4 → 5 → 4), head 4 → 6
  assert.is(t.params, 22 * 32 + 32 + 4 * 20 + (4 * 5 + 5) + (5 * 4 + 4) + 4 * 6 + 6);
  const tmeta = readCheckpointMeta(join(dir, 'arch-tf'));
  assert.is(tmeta.arch, 'transformer');
  assert.equal(tmeta.transformer, { noiseDim: 16, condDim: 6, horizon: 8, stepDim: 6, clampDims: 4, channels: 4, layers: 1, ff: 5, trunk: [] });
  assert.equal(tmeta.mlp, { noiseDim: 16, condDim: 6, hidden: [], outputDim: 44, activation: 'relu' });
  const trunk = runKdp(['train', ...small, '--arch', 'conv', '--channels', '4', '--conv-trunk', '12', '--conv-upsample', '2', '--out', join(dir, 'arch-trunk')]);
  assert.is(trunk.status, 0, trunk.stderr);
  const tm = readCheckpointMeta(join(dir, 'arch-trunk'));
  assert.equal(tm.conv!.trunk, [12]);
  assert.is(tm.conv!.upsample, 2);
  // the defaults: trunk 256, C = 8, k = 9, L = 4 (at horizon 8 the kernel 9 still fits: ≤ 2·8 − 1)
  const def = runKdp(['train', ...small, '--arch', 'conv', '--out', join(dir, 'arch-default')]);
  assert.is(def.status, 0, def.stderr);
  const dm = readCheckpointMeta(join(dir, 'arch-default'));
  assert.equal(dm.conv, { noiseDim: 16, condDim: 6, horizon: 8, stepDim: 6, clampDims: 4, channels: 8, kernel: 9, layers: 4, trunk: [256] });
  assert.equal(tm.mlp.hidden, [12, 32, 32, 32, 32, 32]); // trunk, expansion, 4 conv layers (the default)
});

test.run();
