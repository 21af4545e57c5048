import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateMaze2dDataset } from '../../src/envs/maze2d/generate.js';
import { writeD4rlHdf5 } from '../../src/data/d4rl-hdf5.js';
import { trainOnDataset } from '../../src/train/train-run.js';
import { DEFAULT_KDP_CONFIG } from '../../src/train/kdp-trainer.js';
import { exportCheckpoint } from '../../src/planner/export/export-checkpoint.js';
import { loadModelDir } from '../../src/planner/model-loader.js';
import { checkModelMatchesEnv } from '../../src/envs/registry.js';
import { envInfo } from '../../src/envs/registry.js';
import { ModelError } from '../../src/errors.js';
import { runKdp } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'kdp-eval-'));
const model = join(dir, 'model');

test.before(async () => {
  const ds = join(dir, 'umaze.hdf5');
  const r = await generateMaze2dDataset({ maze: 'maze2d-umaze', steps: 3000, seed: 2 });
  await writeD4rlHdf5(ds, r.arrays, { stateDim: 4, actionDim: 2, goalDim: 2, qposDim: 2, qvelDim: 2 });
  await trainOnDataset({
    dataset: ds, env: 'maze2d-umaze', out: join(dir, 'run'), steps: 5, horizon: 8, frameSkip: 2, normalizer: 'zscore',
    config: { ...DEFAULT_KDP_CONFIG, conditionsPerStep: 2, samplesPerCondition: 4, positivesPerCondition: 8, hidden: [16], noiseDim: 4 },
    checkpointEvery: 5, fresh: true, command: 'test',
  });
  exportCheckpoint({ checkpoint: join(dir, 'run'), out: model, quantization: 'int8', candidates: 8 });
});

test('kdp eval runs closed-loop episodes and reports the contract fields; --record writes JSONL + SVG', () => {
  const rec = join(dir, 'rec');
  const r = runKdp(['eval', '--model', model, '--env', 'maze2d-umaze', '--episodes', '2', '--seed', '7', '--candidates', '4', '--record', rec, '--json']);
  assert.is(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
  for (const k of ['env', 'episodes', 'normalizedScore', 'successRate', 'meanReturn', 'planLatencyUs', 'candidates', 'deadlineMisses']) assert.ok(k in out, `missing ${k}`);
  assert.is(out.episodes, 2);
  assert.is(out.candidates, 4);
  assert.is(out.ticks, 600, 'two full 300-step umaze episodes');
  const lat = out.planLatencyUs as { p50: number; p99: number };
  assert.ok(lat.p50 > 0 && lat.p99 >= lat.p50);
  assert.ok(existsSync(join(rec, 'episode-000.svg')) && existsSync(join(rec, 'steps.jsonl')));
  assert.match(readFileSync(join(rec, 'episode-001.svg'), 'utf8'), /^<svg/);
  assert.is(readFileSync(join(rec, 'steps.jsonl'), 'utf8').trim().split('\n').length, 600);
});

test('a model whose manifest does not match the env is refused before the loop starts, naming the mismatch', () => {
  const m = loadModelDir(model);
  const bad = { ...m.manifest, layout: { ...m.manifest.layout, stateDim: 6, horizon: 9 } };
  try { checkModelMatchesEnv(bad, envInfo('maze2d-umaze')); assert.unreachable(); } catch (e) {
    assert.instance(e, ModelError);
    assert.is((e as ModelError).code, 'E_MODEL_MISMATCH');
    assert.match((e as Error).message, /stateDim: model 6, env 4/);
  }
  const r = runKdp(['eval', '--model', model, '--env', 'maze2d-medium', '--episodes', '1', '--json']);
  assert.is(r.status, 1);
  assert.match(r.stdout, /E_MODEL_MISMATCH/);
  assert.match(r.stderr, /trained for "maze2d-umaze"/);
});

test('a tampered model file is refused (sha256 differs from the manifest)', () => {
  const t = join(dir, 'tampered');
  runKdp(['export', '--checkpoint', join(dir, 'run'), '--out', t, '--quantize', 'fp32']);
  const f = join(t, 'model.tflite');
  const b = readFileSync(f);
  b[b.length - 5] = b[b.length - 5]! ^ 0xff;
  writeFileSync(f, b);
  try { loadModelDir(t); assert.unreachable(); } catch (e) { assert.instance(e, ModelError); assert.match((e as Error).message, /sha256/); }
});

test.run();
