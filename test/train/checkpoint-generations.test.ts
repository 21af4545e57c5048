import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateMaze2dDataset } from '../../src/envs/maze2d/generate.js';
import { writeD4rlHdf5 } from '../../src/data/d4rl-hdf5.js';
import { trainOnDataset, TrainingDivergedError, type TrainRunOptions } from '../../src/train/train-run.js';
import { DEFAULT_KDP_CONFIG } from '../../src/train/kdp-trainer.js';
import { listGenerations, loadCheckpoint, readCheckpointMeta, resolveCheckpoint } from '../../src/model/checkpoint-io.js';
import { exportCheckpoint } from '../../src/planner/export/export-checkpoint.js';
import { CheckpointError } from '../../src/errors.js';
import { runKdp } from '../helpers/cli.js';
import { trainKillCampaign } from '../helpers/train-kill.js';

const dir = mkdtempSync(join(tmpdir(), 'kdp-ckgen-'));
const dataset = join(dir, 'umaze.hdf5');
const BIN = fileURLToPath(new URL('../../dist/cli/bin.mjs', import.meta.url));

const tiny = { ...DEFAULT_KDP_CONFIG, conditionsPerStep: 4, samplesPerCondition: 8, positivesPerCondition: 16, hidden: [32, 32], noiseDim: 4, seed: 3 };
const opts = (out: string, extra: Partial<TrainRunOptions> = {}): TrainRunOptions => ({
  dataset, env: 'maze2d-umaze', out, steps: 40, horizon: 8, frameSkip: 2, normalizer: 'zscore', config: tiny,
  checkpointEvery: 10, fresh: false, command: 'test', ...extra,
});
const cliTrain = ['train', '--dataset', '', '--env', 'maze2d-umaze', '--horizon', '8', '--frame-skip', '2', '--hidden', '32,32',
  '--noise-dim', '4', '--conditions', '4', '--samples', '8', '--positives', '16', '--seed', '3'];

test.before(async () => {
  const r = await generateMaze2dDataset({ maze: 'maze2d-umaze', steps: 4000, seed: 1 });
  await writeD4rlHdf5(dataset, r.arrays, { stateDim: 4, actionDim: 2, goalDim: 2, qposDim: 2, qvelDim: 2 });
  cliTrain[2] = dataset;
});

test('each save is a generation folder; --keep bounds how many stay; the pointer names the newest', async () => {
  const out = join(dir, 'keep');
  await trainOnDataset(opts(out, { keep: 2 }));
  assert.equal(listGenerations(out).map((g) => g.step), [40, 30]);
  const c = resolveCheckpoint(out);
  assert.is(c.generation, 'gen-000000040');
  assert.is(c.meta.step, 40);
  assert.not.ok(existsSync(join(out, 'weights.bin')), 'no flat binaries next to the generations');
  await trainOnDataset(opts(join(dir, 'keep3')));
  assert.is(listGenerations(join(dir, 'keep3')).length, 3, 'default --keep is 3');
});

test('a damaged newest generation: resume and export fall back to the previous one that verifies', async () => {
  const out = join(dir, 'damaged');
  await trainOnDataset(opts(out, { steps: 30 }));
  truncateSync(join(out, 'gen-000000030', 'train-state.bin'), 100);
  const c = resolveCheckpoint(out);
  assert.is(c.meta.step, 20);
  assert.is(c.skipped.length, 1);
  assert.match(c.skipped[0]!.reason, /does not match checkpoint\.json/);
  const ck = loadCheckpoint(out);
  assert.is(ck.generation, 'gen-000000020');
  const ex = exportCheckpoint({ checkpoint: out, out: join(dir, 'damaged-model'), quantization: 'fp32', candidates: 4 });
  assert.is(ex.manifest.provenance.trainingSteps, 20, 'export used the generation that verifies');
  const resumed = await trainOnDataset(opts(out, { steps: 40 }));
  assert.is(resumed.resumedFrom, 20);
  assert.is(readCheckpointMeta(out).step, 40);
  assert.not.ok(listGenerations(out).some((g) => g.step > 40));
});

test('every generation damaged: a typed error that lists them', async () => {
  const out = join(dir, 'all-bad');
  await trainOnDataset(opts(out, { steps: 20, keep: 2 }));
  for (const g of listGenerations(out)) writeFileSync(join(out, g.name, 'weights.bin'), 'x');
  try { resolveCheckpoint(out); assert.unreachable(); } catch (e) {
    assert.instance(e, CheckpointError);
    assert.match((e as Error).message, /gen-000000020: .*gen-000000010: /);
  }
});

test('a write failure mid-save (file size limit → EFBIG): typed E_IO naming the folder; the previous generation stays and resumes', () => {
  const out = join(dir, 'full');
  const first = runKdp([...cliTrain, '--out', out, '--steps', '10', '--checkpoint-every', '10']);
  assert.is(first.status, 0, first.stderr);
  // train-state.bin (3× the weights) no longer fits once the limit is in force: the save of step 20 fails half-way
  const limited = spawnSync('bash', ['-c', `trap '' XFSZ; ulimit -f 20; exec "${process.execPath}" "${BIN}" "$@"`, 'kdp', ...cliTrain,
    '--out', out, '--steps', '20', '--checkpoint-every', '10', '--json'], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, KDP_LOG_LEVEL: 'warn' } });
  assert.is(limited.status, 1, limited.stderr);
  assert.match(limited.stderr, /error \[E_IO\]: could not save checkpoint step 20 in .*full/);
  assert.not.match(limited.stderr, /\n\s+at /, 'no stack trace');
  assert.is(JSON.parse(limited.stdout.trim().split('\n').pop()!).code, 'E_IO');
  assert.is(resolveCheckpoint(out).meta.step, 10, 'the good generation is still the newest that verifies');
  assert.not.ok(readdirSync(out).some((n) => n.endsWith('.tmp')), 'no staging folder left behind');
  const resumed = runKdp([...cliTrain, '--out', out, '--steps', '20', '--checkpoint-every', '10', '--json']);
  assert.is(resumed.status, 0, resumed.stderr);
  assert.is(JSON.parse(resumed.stdout.trim().split('\n').pop()!).resumedFrom, 10);
});

test('read-only output folders (sysfs, procfs: where mkdir -p used to spin): typed E_IO with a hint, exit 1, bounded', async () => {
  for (const out of ['/proc/kdp-run-test/run']) {
    const r = runKdp([...cliTrain, '--out', out, '--steps', '2'], { timeoutMs: 60_000 });
    assert.is(r.status, 1, r.stderr);
    assert.match(r.stderr, /error \[E_IO\]: .*kdp-run-test/);
    assert.match(r.stderr, /→ /);
  }
  const run = join(dir, 'for-export');
  await trainOnDataset(opts(run, { steps: 2, checkpointEvery: 2 }));
  const ex = runKdp(['export', '--checkpoint', run, '--out', '/proc/kdp-export-test/m', '--quantize', 'fp32', '--candidates', '4'], { timeoutMs: 60_000 });
  assert.is(ex.status, 1, ex.stderr);
  assert.match(ex.stderr, /error \[E_(MODEL_)?IO\]: .*\/proc\/kdp-export-test/);
  const ds = runKdp(['dataset', 'maze2d', '--maze', 'umaze', '--steps', '500', '--out', '/proc/kdp-ds-test/a.hdf5'], { timeoutMs: 60_000 });
  assert.is(ds.status, 1, ds.stderr);
  assert.match(ds.stderr, /error \[E_IO\]: .*\/proc\/kdp-ds-test/);
});

test('a non-finite loss stops training with E_DIVERGED and keeps the last good checkpoint', async () => {
  const out = join(dir, 'diverge');
  await trainOnDataset(opts(out, { steps: 10 }));
  try {
    await trainOnDataset(opts(out, { steps: 200, config: { ...tiny, optimizer: { ...tiny.optimizer, lr: 1e36 } } }));
    assert.unreachable('should diverge');
  } catch (e) {
    assert.instance(e, TrainingDivergedError);
    assert.is((e as TrainingDivergedError).code, 'E_DIVERGED');
    assert.is((e as TrainingDivergedError).lastSavedStep !== null, true);
  }
  const c = loadCheckpoint(out);
  for (const l of c.weights.layers) for (const v of l.W) if (!Number.isFinite(v)) assert.unreachable('non-finite weight saved');
});

test('SIGKILL at random moments during saves (--checkpoint-every 1): every run stays resumable', async () => {
  const r = await trainKillCampaign({ trainArgs: cliTrain, out: join(dir, 'killed'), kills: 3, minMs: 0, maxMs: 300, seed: 7, steps: 100_000, finalExtraSteps: 5 });
  assert.equal(r.failures, []);
  assert.is(r.kills, 3);
  assert.is(r.resumable, 3, 'each kill landed after a save and left a verifying generation');
  assert.is(r.finalExit, 0);
  assert.ok(r.finalStep >= 5);
});

test.run();
