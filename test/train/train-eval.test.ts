import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateMaze2dDataset } from '../../src/envs/maze2d/generate.js';
import { writeD4rlHdf5 } from '../../src/data/d4rl-hdf5.js';
import { trainOnDataset } from '../../src/train/train-run.js';
import { DEFAULT_KDP_CONFIG } from '../../src/train/kdp-trainer.js';
import type { EvalResult } from '../../src/eval/evaluate.js';
import { runKdp } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'kdp-train-eval-'));
const dataset = join(dir, 'umaze.hdf5');
const run = join(dir, 'run');
const tiny = { ...DEFAULT_KDP_CONFIG, conditionsPerStep: 4, samplesPerCondition: 8, positivesPerCondition: 16, hidden: [32, 32], noiseDim: 4, seed: 3 };

test.before(async () => {
  const r = await generateMaze2dDataset({ maze: 'maze2d-umaze', steps: 6000, seed: 1 });
  await writeD4rlHdf5(dataset, r.arrays, { stateDim: 4, actionDim: 2, goalDim: 2, qposDim: 2, qvelDim: 2 });
});

test('--eval-every: closed-loop held-out scores while training, without an oracle', async () => {
  const evals: Array<[number, EvalResult]> = [];
  const r = await trainOnDataset({
    dataset, env: 'maze2d-umaze', out: run, steps: 10, horizon: 8, frameSkip: 2, normalizer: 'zscore', config: tiny,
    checkpointEvery: 5, fresh: true, command: 'test', evalEvery: 5, evalEpisodes: 1, onEval: (s, e) => evals.push([s, e]),
  });
  assert.is(r.steps, 10);
  assert.equal(evals.map(([s]) => s), [5, 10]);
  for (const [, e] of evals) {
    assert.ok(Number.isFinite(e.normalizedScore));
    assert.is(e.episodes, 1);
    assert.is(e.oracle, false);
    assert.is(e.select, 'goal');
    assert.ok(e.seed >= 900_000, 'training-time episodes never use the headline seeds');
  }
});

test('kdp train-scorer → kdp export --scorer → kdp eval selects with the learned scorer; map-cost is labelled oracle', () => {
  const scorer = join(dir, 'scorer');
  const t = runKdp(['train-scorer', '--checkpoint', run, '--out', scorer, '--steps', '60', '--hidden', '16,16', '--batch', '128', '--json']);
  assert.is(t.status, 0, t.stderr);
  const tr = JSON.parse(t.stdout);
  assert.is(tr.steps, 60);
  assert.ok(tr.holdout.occAccuracy > 0 && tr.holdout.occAccuracy <= 1 && Number.isFinite(tr.holdout.ctgRmse));
  assert.ok(existsSync(join(scorer, 'scorer.json')) && existsSync(join(scorer, 'scorer-weights.bin')));
  const model = join(dir, 'model');
  const x = runKdp(['export', '--checkpoint', run, '--scorer', scorer, '--out', model, '--candidates', '4', '--json']);
  assert.is(x.status, 0, x.stderr);
  assert.is(JSON.parse(x.stdout).scorer.rows, 4 * 7);
  const e = runKdp(['eval', '--model', model, '--episodes', '1', '--json']);
  assert.is(e.status, 0, e.stderr);
  const er = JSON.parse(e.stdout);
  assert.is(er.select, 'learned');
  assert.is(er.oracle, false);
  const o = runKdp(['eval', '--model', model, '--episodes', '1', '--select', 'map-cost']);
  assert.is(o.status, 0, o.stderr);
  assert.match(o.stdout, /ORACLE variant/);
  // the scorer needs its generator
  const bad = runKdp(['train-scorer', '--out', join(dir, 'nothing')]);
  assert.is(bad.status, 2);
  assert.match(bad.stderr, /--checkpoint RUN or --model DIR/);
});

test('kdp eval refuses so100-reach with the command that runs its controller', () => {
  const r = runKdp(['eval', '--model', 'models/so100-reach', '--episodes', '1']);
  assert.is(r.status, 2);
  assert.match(r.stderr, /kdp arm/);
});

test.run();
