import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateMaze2dDataset } from '../../src/envs/maze2d/generate.js';
import { writeD4rlHdf5 } from '../../src/data/d4rl-hdf5.js';
import { trainOnDataset, type TrainRunOptions } from '../../src/train/train-run.js';
import { DEFAULT_KDP_CONFIG } from '../../src/train/kdp-trainer.js';
import { saveBestPointer } from '../../src/train/checkpoint.js';
import { hasCheckpoint, listGenerations, readBestPointer, resolveBestCheckpoint, resolveCheckpoint } from '../../src/model/checkpoint-io.js';
import { exportCheckpoint } from '../../src/planner/export/export-checkpoint.js';
import { CheckpointError, UsageError } from '../../src/errors.js';
import type { EvalResult } from '../../src/eval/evaluate.js';
import { runKdp } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'kdp-keep-best-'));
const dataset = join(dir, 'umaze.hdf5');
const BIN = fileURLToPath(new URL('../../dist/cli/bin.mjs', import.meta.url));

const tiny = { ...DEFAULT_KDP_CONFIG, conditionsPerStep: 4, samplesPerCondition: 8, positivesPerCondition: 16, hidden: [32, 32], noiseDim: 4, seed: 3 };
const opts = (out: string, extra: Partial<TrainRunOptions> = {}): TrainRunOptions => ({
  dataset, env: 'maze2d-umaze', out, steps: 12, horizon: 8, frameSkip: 2, normalizer: 'zscore', config: tiny,
  checkpointEvery: 6, keep: 1, fresh: false, command: 'test', evalEvery: 3, evalEpisodes: 1, keepBest: true, ...extra,
});
const cliTrain = ['train', '--dataset', '', '--env', 'maze2d-umaze', '--horizon', '8', '--frame-skip', '2', '--hidden', '32,32',
  '--noise-dim', '4', '--conditions', '4', '--samples', '8', '--positives', '16', '--seed', '3'];
const bytes = (p: string): Buffer => readFileSync(p);

/** the step whose score first reached the maximum (a later tie does not replace the best) */
function expectedBest(evals: Array<[number, number]>): { step: number; score: number } {
  let b = { step: -1, score: -Infinity };
  for (const [step, score] of evals) if (score > b.score) b = { step, score };
  return b;
}

test.before(async () => {
  const r = await generateMaze2dDataset({ maze: 'maze2d-umaze', steps: 4000, seed: 1 });
  await writeD4rlHdf5(dataset, r.arrays, { stateDim: 4, actionDim: 2, goalDim: 2, qposDim: 2, qvelDim: 2 });
  cliTrain[2] = dataset;
});

test('--keep-best: best.json names the generation of the best evaluation; it survives --keep 1 pruning', async () => {
  const out = join(dir, 'straight');
  const evals: Array<[number, number]> = [];
  const r = await trainOnDataset(opts(out, { onEval: (s, e: EvalResult) => evals.push([s, e.normalizedScore]) }));
  assert.equal(evals.map(([s]) => s), [3, 6, 9, 12]);
  const want = expectedBest(evals);
  assert.equal({ step: r.best?.step, score: r.best?.score }, want, 'result.best is the first evaluation with the top score');
  const b = readBestPointer(out)!;
  assert.is(b.step, want.step);
  assert.is(b.generation, `gen-${String(want.step).padStart(9, '0')}`);
  assert.is(b.episodes, 1);
  assert.ok(b.seed >= 900_000, 'held-out seeds, never the headline ones');
  const gens = listGenerations(out).map((g) => g.step);
  assert.is(gens[0], 12, 'the newest generation is the last step');
  assert.equal(gens, want.step === 12 ? [12] : [12, want.step], '--keep 1 keeps the newest plus the protected best, nothing else');
  const c = resolveBestCheckpoint(out);
  assert.is(c.meta.step, want.step);
  assert.is(resolveCheckpoint(out).meta.step, 12, 'resume and the default export still take the newest');
});

test('a better score moves best.json to the new generation; the old best is pruned only after the switch', () => {
  // the tiny fixture's scores tie (no episode reaches the goal), so the switch is driven directly here
  const out = join(dir, 'switch');
  cpSync(join(dir, 'straight'), out, { recursive: true });
  const old = readBestPointer(out)!;
  assert.ok(old.step < 12, 'the fixture kept an early best');
  const moved = saveBestPointer(out, { generation: 'gen-000000012', step: 12, score: old.score + 1, successRate: 1, episodes: 1, seed: 900_000, select: 'goal' }, { keep: 1 });
  assert.equal(readBestPointer(out), moved);
  assert.equal(listGenerations(out).map((g) => g.step), [12], 'the previous best is no longer protected');
  assert.is(resolveBestCheckpoint(out).meta.step, 12);
});

test('resume with --keep-best is bit-identical (newest and best generations, best.json) to an uninterrupted run', async () => {
  const a = join(dir, 'straight'), b = join(dir, 'resumed');
  const ctl = new AbortController();
  const first = await trainOnDataset(opts(b, { signal: ctl.signal, onStep: (s) => { if (s.step === 7) ctl.abort(); } }));
  assert.ok(first.interrupted);
  const second = await trainOnDataset(opts(b));
  assert.is(second.resumedFrom, 7);
  assert.is(second.steps, 12);
  const ga = resolveCheckpoint(a).dir, gb = resolveCheckpoint(b).dir;
  for (const f of ['weights.bin', 'train-state.bin']) assert.ok(bytes(join(ga, f)).equals(bytes(join(gb, f))), `newest ${f} identical`);
  const ba = readBestPointer(a)!, bb = readBestPointer(b)!;
  assert.equal(bb, ba, 'same best step, score and generation');
  assert.equal(second.best, { step: ba.step, score: ba.score, generation: ba.generation });
  const xa = resolveBestCheckpoint(a).dir, xb = resolveBestCheckpoint(b).dir;
  for (const f of ['weights.bin', 'train-state.bin']) assert.ok(bytes(join(xa, f)).equals(bytes(join(xb, f))), `best ${f} identical`);
});

test('resuming below the best (the newer generations were damaged) forgets best.json before anything is pruned', async () => {
  const out = join(dir, 'fallback');
  cpSync(join(dir, 'straight'), out, { recursive: true });
  const low = readBestPointer(out)!.step;
  saveBestPointer(out, { generation: 'gen-000000012', step: 12, score: 1e6, successRate: 1, episodes: 1, seed: 900_000, select: 'goal' }, { keep: 2 });
  truncateSync(join(out, 'gen-000000012', 'train-state.bin'), 10);
  const logs: string[] = [];
  const r = await trainOnDataset(opts(out, { steps: low + 3, onLog: (m) => logs.push(m) }));
  assert.is(r.resumedFrom, low);
  assert.ok(logs.some((m) => /forgetting .*best\.json/.test(m)), logs.join('\n'));
  assert.equal(r.best?.step, low + 3, 'the first evaluation after the fallback is the new best');
  assert.is(resolveBestCheckpoint(out).meta.step, low + 3);
  assert.not.ok(existsSync(join(out, 'gen-000000012')), 'the replaced lineage is gone');
});

test('export --best exports the best generation and records it; the default export stays the newest', async () => {
  const run = join(dir, 'straight');
  const b = readBestPointer(run)!;
  const best = exportCheckpoint({ checkpoint: run, out: join(dir, 'm-best'), quantization: 'fp32', candidates: 4, best: true });
  const pb = best.manifest.provenance as Record<string, unknown>;
  assert.is(pb.trainingSteps, b.step);
  assert.is(pb.generation, b.generation);
  assert.is(pb.bestByEval, true);
  assert.equal(pb.bestEval, { score: b.score, successRate: b.successRate, episodes: 1, seed: b.seed, select: 'goal' });
  const newest = exportCheckpoint({ checkpoint: run, out: join(dir, 'm-newest'), quantization: 'fp32', candidates: 4 });
  const pn = newest.manifest.provenance as Record<string, unknown>;
  assert.is(pn.trainingSteps, 12);
  assert.is(pn.generation, 'gen-000000012');
  assert.is(pn.bestByEval, b.step === 12, 'bestByEval says whether the newest is also the best');
  // the CLI: --best, JSON fields, and the manifest on disk
  const cli = runKdp(['export', '--checkpoint', run, '--out', join(dir, 'm-cli'), '--quantize', 'fp32', '--candidates', '4', '--best', '--json']);
  assert.is(cli.status, 0, cli.stderr);
  const j = JSON.parse(cli.stdout) as { step: number; generation: string; bestByEval: boolean };
  assert.equal({ step: j.step, generation: j.generation, bestByEval: j.bestByEval }, { step: b.step, generation: b.generation, bestByEval: true });
  const m = JSON.parse(readFileSync(join(dir, 'm-cli', 'manifest.json'), 'utf8')) as { provenance: { trainingSteps: number; bestByEval: boolean } };
  assert.equal([m.provenance.trainingSteps, m.provenance.bestByEval], [b.step, true]);
});

test('export --best of a run without a best generation: typed E_CHECKPOINT, exit 1, nothing written', async () => {
  const run = join(dir, 'no-best');
  await trainOnDataset(opts(run, { steps: 6, evalEvery: undefined, keepBest: false }));
  assert.is(readBestPointer(run), null);
  try {
    exportCheckpoint({ checkpoint: run, out: join(dir, 'm-none'), quantization: 'fp32', candidates: 4, best: true });
    assert.unreachable('exported without a best generation');
  } catch (e) {
    assert.instance(e, CheckpointError);
    assert.match((e as CheckpointError).message, /no best-by-eval generation/);
  }
  const cli = runKdp(['export', '--checkpoint', run, '--out', join(dir, 'm-none'), '--best']);
  assert.is(cli.status, 1);
  assert.match(cli.stderr, /E_CHECKPOINT/);
  assert.match(cli.stderr, /--keep-best/, 'the hint says how to get one');
  assert.not.match(cli.stderr, /\n\s+at /, 'no stack trace');
  assert.not.ok(existsSync(join(dir, 'm-none', 'manifest.json')));
  // the default export of the same run works (old runs without best.json are unaffected)
  assert.is(runKdp(['export', '--checkpoint', run, '--out', join(dir, 'm-none'), '--quantize', 'fp32', '--candidates', '4']).status, 0);
});

test('--keep-best without --eval-every is a usage error (library and CLI); --fresh forgets best.json', async () => {
  try {
    await trainOnDataset(opts(join(dir, 'usage'), { evalEvery: undefined }));
    assert.unreachable('trained without --eval-every');
  } catch (e) {
    assert.instance(e, UsageError);
  }
  const cli = runKdp([...cliTrain, '--out', join(dir, 'usage'), '--steps', '2', '--keep-best']);
  assert.is(cli.status, 2, cli.stderr);
  assert.match(cli.stderr, /E_USAGE/);
  assert.match(cli.stderr, /--eval-every/);
  const run = join(dir, 'fresh');
  await trainOnDataset(opts(run, { steps: 4 }));
  assert.ok(readBestPointer(run));
  await trainOnDataset(opts(run, { steps: 4, fresh: true, evalEvery: undefined, keepBest: false }));
  assert.is(readBestPointer(run), null, 'a fresh lineage drops the old pointer');
});

test('kdp train --keep-best --json reports best: {step, score}', () => {
  const out = join(dir, 'cli');
  const r = runKdp([...cliTrain, '--out', out, '--steps', '4', '--checkpoint-every', '4', '--eval-every', '2', '--eval-episodes', '1', '--keep-best', '--json']);
  assert.is(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout) as { best: { step: number; score: number }; evals: Array<{ step: number; normalizedScore: number }> };
  assert.equal({ step: j.best.step, score: j.best.score }, expectedBest(j.evals.map((e) => [e.step, e.normalizedScore])));
  assert.is(readBestPointer(out)!.step, j.best.step);
  assert.match(runKdp(['train', '--help']).stdout, /--keep-best/);
  assert.match(runKdp(['export', '--help']).stdout, /--best/);
});

/** Start the real CLI and SIGKILL it `ms` after it saved a new generation. */
function killAfterSave(args: string[], out: string, ms: number): Promise<NodeJS.Signals | null> {
  return new Promise((resolve) => {
    const before = listGenerations(out)[0]?.step ?? -1;
    const child = spawn(process.execPath, [BIN, ...args], { stdio: 'ignore', env: { ...process.env, KDP_LOG_LEVEL: 'warn' } });
    let timer: NodeJS.Timeout | null = null;
    const poll = setInterval(() => {
      if ((listGenerations(out)[0]?.step ?? -1) <= before) return;
      clearInterval(poll);
      timer = setTimeout(() => child.kill('SIGKILL'), ms);
    }, 5);
    child.on('close', (_code, signal) => { clearInterval(poll); if (timer) clearTimeout(timer); resolve(signal); });
  });
}

test('SIGKILL at random moments (saves, evaluations, best.json switches): newest and best both stay loadable; the run resumes', async () => {
  const out = join(dir, 'killed');
  const argsFor = (steps: number): string[] => [...cliTrain, '--out', out, '--steps', String(steps), '--checkpoint-every', '1', '--keep', '1', '--eval-every', '1', '--eval-episodes', '1', '--keep-best', '--json'];
  const args = argsFor(100_000);
  let s = 11;
  const rnd = (): number => { s = (s * 1103515245 + 12345) % 2147483648; return s / 2147483648; };
  // a finished first run: best.json exists before the first kill, so every kill can hit a switch or a prune of it
  const first = runKdp(argsFor(2));
  assert.is(first.status, 0, first.stderr);
  assert.ok(readBestPointer(out), 'the first run kept a best generation');
  let kills = 0;
  for (let k = 0; k < 3; k++) {
    const signal = await killAfterSave(args, out, rnd() * 1000); // one evaluation takes ~0.4 s here: land before, in and after it
    if (signal !== 'SIGKILL') continue;
    kills++;
    if (!hasCheckpoint(out)) continue;
    const newest = resolveCheckpoint(out);
    assert.is(newest.skipped.length, 0, `kill ${k}: no damaged generation`);
    assert.ok(readBestPointer(out), `kill ${k}: best.json is still there`);
    const best = resolveBestCheckpoint(out);
    assert.ok(best.meta.step <= newest.meta.step, `kill ${k}: best is not ahead of the newest`);
  }
  assert.is(kills, 3);
  const from = resolveCheckpoint(out).meta.step;
  const fin = runKdp(argsFor(from + 2));
  assert.is(fin.status, 0, fin.stderr);
  const j = JSON.parse(fin.stdout) as { resumedFrom: number; best: { step: number } };
  assert.is(j.resumedFrom, from);
  assert.is(resolveBestCheckpoint(out).meta.step, j.best.step);
});

test.run();
