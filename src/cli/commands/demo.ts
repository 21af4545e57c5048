import { existsSync, mkdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { evaluate, type EvalResult } from '../../loop/evaluate.js';
import { loadModelDir } from '../../loop/model-loader.js';
import { ensureDir, writeFileAtomic } from '../../util/atomic-write.js';
import { optFlag, optNumber, optString, type CommandSpec, type CommandContext } from '../command.js';
import { emitResult, say } from '../output.js';
import { createProgress } from '../progress.js';

const DEFAULT_MODEL = 'models/maze2d-umaze';

export const command: CommandSpec = {
  name: 'demo',
  summary: 'the main job: closed-loop Maze2D episodes with the shipped model',
  description: [
    'Loads the shipped int8 umaze model, runs closed-loop episodes in the MuJoCo Maze2D replica (N candidate',
    'plans per step in one batched invoke, select, act, replan), prints the normalized score, success rate and',
    'per-step planning latency, and writes runs/demo-<time>/report.md with an SVG per episode.',
    '--retrain regenerates the dataset, retrains and re-exports the model first (long; progress shown).',
  ].join('\n'),
  options: {
    model: { type: 'string', placeholder: '<dir>', default: DEFAULT_MODEL, description: 'model folder' },
    episodes: { type: 'string', placeholder: 'N', default: '20', description: 'episodes' },
    seed: { type: 'string', placeholder: 'S', default: '1000', description: 'first episode seed' },
    candidates: { type: 'string', placeholder: 'N', description: 'candidate plans per step (default: the manifest\'s)' },
    out: { type: 'string', placeholder: '<dir>', description: 'report folder (default runs/demo-<time>)' },
    retrain: { type: 'boolean', description: 'regenerate the dataset, retrain and re-export before the demo (resumes an interrupted retrain)' },
    steps: { type: 'string', placeholder: 'N', description: 'with --retrain: training steps (default: kdp train\'s)' },
    'dataset-steps': { type: 'string', placeholder: 'N', default: '1000000', description: 'with --retrain: dataset size in env steps' },
  },
  async run(ctx) {
    const modelDir = optString(ctx, 'model') ?? DEFAULT_MODEL;
    if (optFlag(ctx, 'retrain')) await retrain(ctx, modelDir);
    if (ctx.signal.aborted) return 130;
    const model = loadModelDir(modelDir);
    const episodes = optNumber(ctx, 'episodes', 20, { int: true, min: 1 });
    const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
    const out = optString(ctx, 'out') ?? join('runs', `demo-${stamp}`);
    ensureDir(out);
    const bar = createProgress('demo', episodes, { json: ctx.json, fields: ['score'] });
    let sum = 0;
    const result = await evaluate({
      env: model.manifest.env, model, episodes,
      seed: optNumber(ctx, 'seed', 1000, { int: true, min: 0 }),
      candidates: optNumber(ctx, 'candidates', model.manifest.candidates, { int: true, min: 1, max: 4096 }),
      record: out, signal: ctx.signal,
      onEpisode: (i, _r, score) => { sum += score; bar.update(i + 1, { score: sum / (i + 1) }); },
    });
    bar.stop();
    const reportPath = join(out, 'report.md');
    writeFileAtomic(reportPath, report(result, modelDir, model.manifest.provenance, out));
    emitResult(ctx, { ...result, report: reportPath }, () => [
      `${result.env}: normalized score ${result.normalizedScore} ± ${result.normalizedScoreStd}, success ${(result.successRate * 100).toFixed(0)}% over ${result.episodes} episodes`,
      `planning: ${result.candidates} candidates per step in one invoke, p50 ${result.planLatencyUs.p50} µs, p99 ${result.planLatencyUs.p99} µs (${result.backend}, arena ${result.arenaBytes} B)`,
      `report: ${reportPath}`,
    ].join('\n'));
  },
};

function report(r: EvalResult, modelDir: string, prov: Record<string, unknown>, out: string): string {
  const svgs = (r.svgs ?? []).slice(0, 12).map((f) => `![episode](${relative(out, f)})`);
  return [
    `# kdp demo — ${r.env}`,
    '',
    `| metric | value |`, `|---|---|`,
    `| normalized score (D4RL) | ${r.normalizedScore} ± ${r.normalizedScoreStd} (s.e.) |`,
    `| success rate | ${(r.successRate * 100).toFixed(1)}% |`,
    `| mean return | ${r.meanReturn} |`,
    `| episodes (seeds ${r.seed}…${r.seed + r.episodes - 1}) | ${r.episodes} |`,
    `| candidates per step | ${r.candidates} (one batched invoke) |`,
    `| plan latency p50 / p99 | ${r.planLatencyUs.p50} / ${r.planLatencyUs.p99} µs |`,
    `| deadline misses | ${r.deadlineMisses} of ${r.plans} plans |`,
    `| runtime | ${r.backend}, arena ${r.arenaBytes} bytes |`,
    `| model | ${modelDir} (${JSON.stringify(prov)}) |`,
    '',
    'Red: executed path; blue: candidate plans at three moments of the episode.',
    '',
    ...svgs,
    '',
  ].join('\n');
}

async function retrain(ctx: CommandContext, modelDir: string): Promise<void> {
  const [{ writeMaze2dDataset }, { trainOnDataset }, { DEFAULT_KDP_CONFIG }, { exportCheckpoint }, { checkpointExists }, { readCheckpointMeta }] = await Promise.all([
    import('../../envs/maze2d/generate.js'), import('../../train/train-run.js'),
    import('../../train/kdp-trainer.js'), import('../../planner/export/export-checkpoint.js'), import('../../train/checkpoint.js'), import('../../model/checkpoint-io.js'),
  ]);
  const { DEFAULT_TRAIN_STEPS } = await import('./train.js');
  const steps = optNumber(ctx, 'steps', DEFAULT_TRAIN_STEPS, { int: true, min: 1 });
  const datasetSteps = optNumber(ctx, 'dataset-steps', 1_000_000, { int: true, min: 1000 });
  const dataset = 'data/maze2d-umaze.hdf5';
  const run = 'runs/umaze-retrain';
  // an unfinished retrain (interrupted) resumes; otherwise everything is made anew
  const resume = checkpointExists(run) && readCheckpointMeta(run).step < steps;
  if (!resume) {
    say(ctx, `generating ${dataset} (${datasetSteps} steps, seed 0)…`);
    const bar = createProgress('dataset', datasetSteps, { json: ctx.json });
    await writeMaze2dDataset({ maze: 'maze2d-umaze', steps: datasetSteps, seed: 0, out: dataset, onProgress: (d) => bar.update(d), progressEvery: 20_000, signal: ctx.signal })
      .finally(() => bar.stop());
  }
  const bar = createProgress('train', steps, { json: ctx.json, fields: ['loss'] });
  const t = await trainOnDataset({
    dataset, env: 'maze2d-umaze', out: run, steps, normalizer: 'zscore', config: DEFAULT_KDP_CONFIG,
    checkpointEvery: 250, fresh: !resume, command: `kdp train --dataset ${dataset} --env maze2d-umaze --out ${run} --steps ${steps}`,
    signal: ctx.signal, onStep: (s) => bar.update(s.step, { loss: s.loss }),
  });
  bar.stop();
  if (t.interrupted) { say(ctx, `interrupted at step ${t.steps}; run \`kdp demo --retrain\` again to resume`); return; }
  // as the shipped model: 6-bit weights run the relaxed-SIMD kernel (docs/tflite-export.md)
  exportCheckpoint({ checkpoint: run, out: modelDir, quantization: 'int8', calibration: 1024, candidates: 64, weightBits: 6 });
  say(ctx, `re-exported ${modelDir}`);
}
