import { UsageError } from '../../errors.js';
import type { Activation } from '../../model/mlp-spec.js';
import { DEFAULT_CONV, GENERATOR_ARCHS, type GeneratorArch } from '../../model/conv-spec.js';
import { DEFAULT_TRANSFORMER } from '../../model/transformer-spec.js';
import { DEFAULT_KDP_CONFIG, KEY_VARIANTS, type KdpConfig } from '../../train/kdp-trainer.js';
import { trainOnDataset } from '../../train/train-run.js';
import { envInfo } from '../../envs/registry.js';
import { optChoice, optFlag, optNumber, optString, requireString, type CommandSpec } from '../command.js';
import { emitResult, say } from '../output.js';
import { createProgress } from '../progress.js';

export const DEFAULT_TRAIN_STEPS = 6000;

export const command: CommandSpec = {
  name: 'train',
  summary: 'train a Keyed Drifting Policy on a dataset',
  description: [
    'Trains the one-step generator f(noise, [state, goal]) → plan window with the keyed drift field.',
    'Checkpoints are written every --checkpoint-every steps and on Ctrl-C, each as a new generation folder',
    '(gen-<step>/, fsynced, then switched to by one rename); the last --keep generations stay. Running the',
    'same command again resumes from the newest generation that verifies (use --fresh to start over).',
    'A non-finite loss or gradient stops training with E_DIVERGED, keeping the last good checkpoint.',
    '',
    'With --eval-every N --keep-best, each evaluation that beats the best held-out score so far saves that',
    'step as a generation and points <out>/best.json at it (atomically, after the generation is on disk);',
    'that generation is kept on top of --keep. `kdp export --best` exports it; the default export stays the',
    'newest generation. The JSON result gets best: {step, score}.',
    '',
    'Example: kdp train --dataset data/maze2d-umaze.hdf5 --env maze2d-umaze --out runs/umaze',
  ].join('\n'),
  options: {
    dataset: { type: 'string', placeholder: '<path>', description: 'D4RL HDF5 file or LeRobot dataset folder' },
    env: { type: 'string', placeholder: '<name>', description: 'environment the data comes from (e.g. maze2d-umaze)' },
    out: { type: 'string', placeholder: '<dir>', description: 'run directory for checkpoints' },
    steps: { type: 'string', placeholder: 'N', default: String(DEFAULT_TRAIN_STEPS), description: 'total optimisation steps' },
    horizon: { type: 'string', placeholder: 'H', description: 'plan steps per window (default per env)' },
    'frame-skip': { type: 'string', placeholder: 'k', description: 'env steps between plan steps (default per env)' },
    'window-stride': { type: 'string', placeholder: 'n', default: '1', description: 'distance between window starts' },
    key: { type: 'string', placeholder: 'keyed|full|condition', default: 'keyed', description: 'kernel distance: keyed (KDP), full (naive), condition (diverges)' },
    'no-repulsion': { type: 'boolean', description: 'attraction only (known to collapse; ablation)' },
    seed: { type: 'string', placeholder: 'S', default: '0', description: 'seed for initialisation, batches and noise' },
    conditions: { type: 'string', placeholder: 'Bc', default: String(DEFAULT_KDP_CONFIG.conditionsPerStep), description: 'conditions per step' },
    samples: { type: 'string', placeholder: 'M', default: String(DEFAULT_KDP_CONFIG.samplesPerCondition), description: 'generated windows per condition' },
    positives: { type: 'string', placeholder: 'K', default: String(DEFAULT_KDP_CONFIG.positivesPerCondition), description: 'nearest dataset windows per condition' },
    arch: { type: 'string', placeholder: 'mlp|conv|transformer', default: 'mlp', description: 'generator: mlp, conv (a temporal conv over the plan window: dense → [T, C], residual conv layers shared across time, per-step head; exported as its exact dense equivalent) or transformer (tokens = plan steps: dense → [T, C] with a learned per-step bias, single-head self-attention + per-token MLP blocks, per-step head; exported with BATCH_MATMUL and SOFTMAX)' },
    channels: { type: 'string', placeholder: 'C', default: String(DEFAULT_CONV.channels), description: '--arch conv: channels per plan step (the dense width is horizon × C)' },
    'conv-kernel': { type: 'string', placeholder: 'k', default: String(DEFAULT_CONV.kernel), description: "--arch conv: temporal kernel size (odd, 'same' padding)" },
    'conv-layers': { type: 'string', placeholder: 'L', default: String(DEFAULT_CONV.layers), description: '--arch conv: residual conv layers' },
    'conv-trunk': { type: 'string', placeholder: 'w,w|none', default: DEFAULT_CONV.trunk.join(','), description: '--arch conv: widths of dense ReLU layers before the [T, C] expansion (none: the expansion reads the input)' },
    'conv-upsample': { type: 'string', placeholder: 'r', default: '1', description: '--arch conv: the expansion writes every r-th step, linearly interpolated in between (smooth plans by construction; 1 = off)' },
    'tf-channels': { type: 'string', placeholder: 'C', default: String(DEFAULT_TRANSFORMER.channels), description: '--arch transformer: channels per token (plan step)' },
    'tf-layers': { type: 'string', placeholder: 'L', default: String(DEFAULT_TRANSFORMER.layers), description: '--arch transformer: attention blocks' },
    'tf-ff': { type: 'string', placeholder: 'F', default: String(DEFAULT_TRANSFORMER.ff), description: '--arch transformer: hidden width of each block\'s per-token MLP' },
    'tf-trunk': { type: 'string', placeholder: 'w,w|none', default: DEFAULT_TRANSFORMER.trunk.join(','), description: '--arch transformer: widths of dense ReLU layers before the [T, C] expansion (none: the expansion reads the input)' },
    hidden: { type: 'string', placeholder: 'w,w,w', default: DEFAULT_KDP_CONFIG.hidden.join(','), description: 'hidden layer widths (--arch mlp)' },
    activation: { type: 'string', placeholder: 'relu|silu|tanh', default: DEFAULT_KDP_CONFIG.activation, description: 'hidden activation' },
    'noise-dim': { type: 'string', placeholder: 'n', default: String(DEFAULT_KDP_CONFIG.noiseDim), description: 'noise input size' },
    lr: { type: 'string', placeholder: 'x', default: String(DEFAULT_KDP_CONFIG.optimizer.lr), description: 'AdamW learning rate (cosine-decayed to 10%)' },
    'block-weight': { type: 'string', placeholder: 'w', default: String(DEFAULT_KDP_CONFIG.blockWeight), description: 'weight of the unkeyed-dims distance in their block kernel (0 = key only)' },
    normalizer: { type: 'string', placeholder: 'zscore|minmax', default: 'zscore', description: 'per-dimension normalisation fitted on the data' },
    'normalizer-from': { type: 'string', placeholder: '<dir>', description: 'take the normalizer of this model folder or `kdp train` run instead of fitting one (a route generator for that model: `kdp export --routes` needs the model\'s normalization)' },
    'checkpoint-every': { type: 'string', placeholder: 'N', default: '250', description: 'steps between checkpoints' },
    keep: { type: 'string', placeholder: 'N', default: '3', description: 'checkpoint generations to keep (resume/export take the newest that verifies)' },
    fresh: { type: 'boolean', description: 'ignore an existing checkpoint in --out and start over' },
    'eval-every': { type: 'string', placeholder: 'N', description: 'every N steps, run closed-loop episodes with the EMA weights and print the normalized score (no oracle)' },
    'eval-episodes': { type: 'string', placeholder: 'n', default: '10', description: 'episodes per --eval-every evaluation (seeds 900000…, never the headline seeds)' },
    'keep-best': { type: 'boolean', description: 'with --eval-every: keep the generation with the best held-out score (best.json; `kdp export --best`)' },
    'eval-scorer': { type: 'string', placeholder: '<dir>', description: 'select with this `kdp train-scorer` folder during --eval-every (default: goal distance)' },
  },
  async run(ctx) {
    const dataset = requireString(ctx, 'dataset', 'e.g. --dataset data/maze2d-umaze.hdf5 (make one with `kdp dataset maze2d`)');
    const env = requireString(ctx, 'env', 'e.g. --env maze2d-umaze');
    envInfo(env);
    const out = requireString(ctx, 'out', 'e.g. --out runs/umaze');
    const steps = optNumber(ctx, 'steps', DEFAULT_TRAIN_STEPS, { int: true, min: 1 });
    const hidden = (optString(ctx, 'hidden') ?? '').split(',').map(Number);
    if (hidden.some((h) => !Number.isInteger(h) || h < 1)) throw new UsageError('--hidden must be comma-separated positive integers');
    const key = optChoice(ctx, 'key', KEY_VARIANTS, 'keyed');
    const arch = optChoice<GeneratorArch>(ctx, 'arch', GENERATOR_ARCHS, 'mlp');
    if (arch !== 'mlp') {
      for (const flag of ['hidden', 'activation'] as const) {
        if (optString(ctx, flag) !== command.options[flag]!.default) {
          throw new UsageError(`--${flag} applies to --arch mlp; the ${arch}'s shape is set by ${arch === 'conv' ? '--channels and the --conv-*' : 'the --tf-*'} flags`);
        }
      }
    }
    const transformer = {
      channels: optNumber(ctx, 'tf-channels', DEFAULT_TRANSFORMER.channels, { int: true, min: 1, max: 1024 }),
      layers: optNumber(ctx, 'tf-layers', DEFAULT_TRANSFORMER.layers, { int: true, min: 1, max: 16 }),
      ff: optNumber(ctx, 'tf-ff', DEFAULT_TRANSFORMER.ff, { int: true, min: 1, max: 4096 }),
      trunk: optString(ctx, 'tf-trunk') === 'none' ? [] : (optString(ctx, 'tf-trunk') ?? '').split(',').map(Number),
    };
    if (transformer.trunk.some((w) => !Number.isInteger(w) || w < 1)) throw new UsageError('--tf-trunk must be comma-separated positive integers or none', 'e.g. --tf-trunk 256');
    if (arch !== 'transformer') {
      for (const flag of ['tf-channels', 'tf-layers', 'tf-ff', 'tf-trunk'] as const) {
        if (optString(ctx, flag) !== command.options[flag]!.default) throw new UsageError(`--${flag} applies to --arch transformer`, 'add --arch transformer, or drop the flag');
      }
    }
    const conv = {
      channels: optNumber(ctx, 'channels', DEFAULT_CONV.channels, { int: true, min: 1, max: 256 }),
      kernel: optNumber(ctx, 'conv-kernel', DEFAULT_CONV.kernel, { int: true, min: 1, max: 63 }),
      layers: optNumber(ctx, 'conv-layers', DEFAULT_CONV.layers, { int: true, min: 1, max: 16 }),
      trunk: optString(ctx, 'conv-trunk') === 'none' ? [] : (optString(ctx, 'conv-trunk') ?? '').split(',').map(Number),
      upsample: optNumber(ctx, 'conv-upsample', 1, { int: true, min: 1, max: 512 }),
    };
    if (conv.trunk.some((w) => !Number.isInteger(w) || w < 1)) throw new UsageError('--conv-trunk must be comma-separated positive integers or none', 'e.g. --conv-trunk 256');
    if (arch !== 'conv') {
      for (const flag of ['channels', 'conv-kernel', 'conv-layers', 'conv-trunk', 'conv-upsample'] as const) {
        if (optString(ctx, flag) !== command.options[flag]!.default) throw new UsageError(`--${flag} applies to --arch conv`, 'add --arch conv, or drop the flag');
      }
    }
    if (conv.kernel % 2 !== 1) throw new UsageError(`--conv-kernel must be odd ('same' padding keeps the window's length), got ${conv.kernel}`, 'e.g. --conv-kernel 5');
    const config: KdpConfig = {
      ...DEFAULT_KDP_CONFIG,
      key,
      repulsion: !optFlag(ctx, 'no-repulsion'),
      seed: optNumber(ctx, 'seed', 0, { int: true, min: 0 }),
      conditionsPerStep: optNumber(ctx, 'conditions', DEFAULT_KDP_CONFIG.conditionsPerStep, { int: true, min: 1 }),
      samplesPerCondition: optNumber(ctx, 'samples', DEFAULT_KDP_CONFIG.samplesPerCondition, { int: true, min: 2 }),
      positivesPerCondition: optNumber(ctx, 'positives', DEFAULT_KDP_CONFIG.positivesPerCondition, { int: true, min: 1, max: 1024 }),
      arch,
      ...(arch === 'conv' ? { conv } : {}),
      ...(arch === 'transformer' ? { transformer } : {}),
      hidden,
      activation: optChoice<Activation>(ctx, 'activation', ['relu', 'silu', 'tanh'], 'relu'),
      noiseDim: optNumber(ctx, 'noise-dim', DEFAULT_KDP_CONFIG.noiseDim, { int: true, min: 1 }),
      blockWeight: optNumber(ctx, 'block-weight', DEFAULT_KDP_CONFIG.blockWeight, { min: 0 }),
      optimizer: { ...DEFAULT_KDP_CONFIG.optimizer, lr: optNumber(ctx, 'lr', DEFAULT_KDP_CONFIG.optimizer.lr, { min: 0 }) },
    };
    const horizon = optString(ctx, 'horizon') === undefined ? undefined : optNumber(ctx, 'horizon', 32, { int: true, min: 2, max: 512 });
    const frameSkip = optString(ctx, 'frame-skip') === undefined ? undefined : optNumber(ctx, 'frame-skip', 1, { int: true, min: 1, max: 100 });
    const evals: Array<{ step: number; normalizedScore: number; successRate: number }> = [];
    const keepBest = optFlag(ctx, 'keep-best');
    if (keepBest && optString(ctx, 'eval-every') === undefined) {
      throw new UsageError('--keep-best needs --eval-every: the best generation is chosen by the held-out evaluation', 'add e.g. --eval-every 500 --eval-episodes 10');
    }
    const bar = createProgress('train', steps, { json: ctx.json, fields: ['loss', 'drift', 'windows/s'] });
    const result = await trainOnDataset({
      dataset, env, out, steps, ...(horizon ? { horizon } : {}), ...(frameSkip ? { frameSkip } : {}),
      windowStride: optNumber(ctx, 'window-stride', 1, { int: true, min: 1 }),
      normalizer: optChoice(ctx, 'normalizer', ['zscore', 'minmax'] as const, 'zscore'),
      ...(optString(ctx, 'normalizer-from') === undefined ? {} : { normalizerFrom: (await import('../model-or-run.js')).modelOrRunMeta(optString(ctx, 'normalizer-from')!).normalizer }),
      config, checkpointEvery: optNumber(ctx, 'checkpoint-every', 250, { int: true, min: 1 }), fresh: optFlag(ctx, 'fresh'),
      keep: optNumber(ctx, 'keep', 3, { int: true, min: 1, max: 1000 }),
      command: `kdp train ${process.argv.slice(3).join(' ')}`.trim(),
      signal: ctx.signal,
      onStep: (s, wps) => bar.update(s.step, { loss: s.loss, drift: s.driftRms, 'windows/s': Math.round(wps) }),
      ...(optString(ctx, 'eval-every') === undefined ? {} : {
        evalEvery: optNumber(ctx, 'eval-every', 500, { int: true, min: 1 }),
        evalEpisodes: optNumber(ctx, 'eval-episodes', 10, { int: true, min: 1 }),
        ...(optString(ctx, 'eval-scorer') ? { evalScorer: optString(ctx, 'eval-scorer')! } : {}),
        ...(keepBest ? { keepBest } : {}),
        onEval: (step: number, r: { normalizedScore: number; normalizedScoreStd: number; successRate: number; episodes: number; select: string }) => {
          evals.push({ step, normalizedScore: r.normalizedScore, successRate: r.successRate });
          say(ctx, `step ${step}: held-out score ${r.normalizedScore} ± ${r.normalizedScoreStd} (success ${(r.successRate * 100).toFixed(0)}%, ${r.episodes} episodes, select ${r.select}, no oracle)`);
        },
      }),
      onLog: (m) => say(ctx, m),
    });
    bar.stop();
    emitResult(ctx, evals.length ? { ...result, evals } : result, () => [
      `${result.interrupted ? 'interrupted' : 'trained'} ${result.steps} steps in ${result.seconds}s (${result.windowsPerSec} windows/s)`,
      `checkpoint: ${result.out}${result.interrupted ? ' — run the same command again to resume' : ''}`,
      ...(result.best ? [`best: step ${result.best.step}, held-out score ${result.best.score} (${result.out}/${result.best.generation}; export it with --best)`] : []),
    ].join('\n'));
    return result.interrupted ? 130 : 0;
  },
};

