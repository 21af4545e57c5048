import { execFileSync } from 'node:child_process';
import { loadDataset } from '../data/load.js';
import { readDatasetProvenance } from '../data/provenance.js';
import { fitNormalizer } from '../data/normalizer.js';
import { layoutFor } from '../data/windows.js';
import { envInfo } from '../envs/registry.js';
import { CheckpointError, KdpError, ShapeError, UsageError } from '../errors.js';
import { EventLoopYield } from '../util/yield.js';
import { convParamCount } from '../model/conv-spec.js';
import { transformerParamCount } from '../model/transformer-spec.js';
import { paramCount } from '../model/mlp-spec.js';
import type { NormalizerJson, WindowLayout } from '../model/checkpoint-format.js';
import { generationName, readBestPointer, resolveBestCheckpoint, resolveCheckpoint, type BestPointer, type ResolvedCheckpoint } from '../model/checkpoint-io.js';
import {
  checkpointExists, clearBestPointer, clearCheckpoints, DEFAULT_KEEP_GENERATIONS, restoreTrainer, saveBestPointer, saveCheckpoint, writeCalibration,
} from './checkpoint.js';
import { DEFAULT_KDP_CONFIG, KdpTrainer, type KdpConfig, type StepStats } from './kdp-trainer.js';
import { DatasetProblem } from './tasks/dataset-problem.js';
import { evaluateTrainer } from './train-eval.js';
import type { EvalResult } from '../eval/evaluate.js';

/** episodes evaluated while training start here: far from the seeds headline figures use (100–1,199) */
export const TRAIN_EVAL_SEED = 900_000;

export interface TrainRunOptions {
  dataset: string;
  env: string;
  out: string;
  steps: number;
  horizon?: number;
  frameSkip?: number;
  windowStride?: number;
  normalizer: 'zscore' | 'minmax';
  /**
   * use this normalizer instead of fitting one on the dataset (a route generator must share its model's
   * normalization: the learned scorer reads both); its dims must match the dataset's
   */
  normalizerFrom?: NormalizerJson;
  config: KdpConfig;
  checkpointEvery: number;
  /** checkpoint generations to keep (default 3) */
  keep?: number;
  /** ignore an existing checkpoint in `out` and start over */
  fresh: boolean;
  command: string;
  signal?: AbortSignal;
  /** closed-loop evaluation every N steps (0/absent = off): see train-eval.ts */
  evalEvery?: number;
  evalEpisodes?: number;
  evalScorer?: string;
  /**
   * after each evaluation that beats the best score so far, save that step as a generation and point
   * best.json at it (kept whatever --keep says; `kdp export --best` reads it). Needs evalEvery.
   */
  keepBest?: boolean;
  onEval?: (step: number, r: EvalResult) => void;
  onStep?: (s: StepStats, windowsPerSec: number) => void;
  onLog?: (msg: string) => void;
}

export interface TrainRunResult {
  out: string;
  steps: number;
  resumedFrom: number | null;
  interrupted: boolean;
  seconds: number;
  windowsPerSec: number;
  finalLoss: number;
  finalDriftRms: number;
  /** the generator architecture trained */
  arch: 'mlp' | 'conv' | 'transformer';
  /** trained (free) parameters: the conv's shared kernels, not its dense expansion */
  params: number;
  /** with keepBest: the best-by-eval generation so far (this run's or, on resume, an earlier one's) */
  best?: { step: number; score: number; generation: string };
}

/** A non-finite loss, drift or gradient: training stops without saving the bad state. */
export class TrainingDivergedError extends KdpError {
  constructor(readonly stats: StepStats, readonly lastSavedStep: number | null) {
    super('E_DIVERGED', `training diverged at step ${stats.step}: loss ${stats.loss}, drift rms ${stats.driftRms}, gradient norm ${stats.gradNorm}`
      + (lastSavedStep === null ? ' (no checkpoint was saved)' : ` (the checkpoint of step ${lastSavedStep} is kept)`),
    { hint: 'check the dataset for extreme values (`kdp dataset info`), or lower --lr; run the same command to resume from the last good checkpoint' });
  }
}

/** Settings that must agree between a checkpoint and the run that resumes it. */
function identity(c: KdpConfig, layout: WindowLayout, env: string): string {
  const arch = c.arch ?? 'mlp';
  return JSON.stringify({ env, key: c.key, repulsion: c.repulsion, hidden: c.hidden, noise: c.noiseDim, act: c.activation, H: layout.horizon, fs: layout.frameSkip,
    ...(arch === 'mlp' ? {} : arch === 'transformer' ? { arch, transformer: c.transformer } : { arch, conv: c.conv }) });
}

export function gitCommit(): string | undefined {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Train a KDP generator on a dataset, checkpointing atomically and resuming where it stopped. */
export async function trainOnDataset(o: TrainRunOptions): Promise<TrainRunResult> {
  if (o.keepBest && !o.evalEvery) {
    throw new UsageError('--keep-best needs --eval-every: the best generation is chosen by the held-out evaluation', 'add e.g. --eval-every 500 --eval-episodes 10');
  }
  const info = envInfo(o.env);
  // a dataset made by kdp names its env: training it as another env (same dims, other maze) gives a useless model
  const made = readDatasetProvenance(o.dataset);
  if (made?.env && made.env !== o.env) {
    throw new UsageError(`--env ${o.env} does not match the dataset: ${o.dataset} was made for ${made.env} (${made.command})`, `pass --env ${made.env}`);
  }
  const ds = await loadDataset(o.dataset, { expect: { stateDim: info.stateDim, actionDim: info.actionDim, goalDim: info.goalDim } });
  const layout = layoutFor(ds, { horizon: o.horizon ?? info.horizon, frameSkip: o.frameSkip ?? info.frameSkip, dt: info.dt, useGoal: info.goalDim > 0 });
  layout.stateNames = info.stateNames;
  layout.actionNames = info.actionNames;
  let normalizer: NormalizerJson = o.normalizerFrom ?? fitNormalizer(ds, o.normalizer);
  if (o.normalizerFrom) {
    const n = o.normalizerFrom;
    for (const [k, dim] of [['state', ds.stateDim], ['action', ds.actionDim], ['goal', layout.goalDim]] as const) {
      if (n[k].shift.length !== dim) throw new ShapeError(`--normalizer-from ${k} dims vs the dataset`, dim, n[k].shift.length, 'take the normalizer of a model trained for the same env');
    }
  }
  let resumeMeta = null as ResolvedCheckpoint['meta'] | null;
  let resumeDir = o.out;
  if (o.fresh) clearCheckpoints(o.out);
  else if (checkpointExists(o.out)) {
    const resolved = resolveCheckpoint(o.out);
    resumeMeta = resolved.meta;
    resumeDir = resolved.dir;
    for (const s of resolved.skipped) o.onLog?.(`skipping damaged checkpoint ${s.generation}: ${s.reason}`);
    const want = identity(o.config, layout, o.env);
    const haveConfig = { ...DEFAULT_KDP_CONFIG, ...(resumeMeta.config as Partial<KdpConfig>) };
    const have = identity(haveConfig, resumeMeta.layout, resumeMeta.env);
    if (want !== have) {
      throw new CheckpointError(`${o.out} holds a checkpoint of a different run (${have}) than requested (${want})`, { hint: 'pass --fresh to overwrite it, or choose another --out' });
    }
    // resuming continues the checkpoint's random streams: another --seed cannot take effect, so say so
    if (haveConfig.seed !== o.config.seed) {
      throw new CheckpointError(`${o.out} holds a run with --seed ${haveConfig.seed}; resuming it with --seed ${o.config.seed} would silently keep seed ${haveConfig.seed}`,
        { hint: `pass --seed ${haveConfig.seed} to resume it, --fresh to start over with seed ${o.config.seed}, or choose another --out` });
    }
    normalizer = resumeMeta.normalizer; // keep the normalizer the weights were trained with
  }
  const problem = new DatasetProblem(ds, layout, normalizer, { keyStateDims: info.positionDims, padEnd: info.padEpisodeEnd, velocityDims: info.velocityDims, ...(o.windowStride ? { windowStride: o.windowStride } : {}) });
  const trainer = new KdpTrainer(problem, { ...o.config, optimizer: { ...o.config.optimizer, decaySteps: o.config.optimizer.decaySteps ?? o.steps } });
  let resumedFrom: number | null = null;
  if (resumeMeta) {
    restoreTrainer(resumeDir, trainer, resumeMeta);
    resumedFrom = trainer.stepCount;
    if (resumedFrom >= o.steps) {
      throw new UsageError(`${o.out} is already trained for ${resumedFrom} steps (--steps ${o.steps}): nothing to do`,
        `raise --steps above ${resumedFrom} to train on, or pass --fresh to start over`);
    }
    o.onLog?.(`resuming ${o.out} from step ${resumedFrom}`);
  } else {
    writeCalibration(o.out, problem.calibrationConditions(1024));
  }
  // the best-by-eval generation so far; a pointer past the step we resume from (or to a generation
  // that no longer verifies) belongs to a replaced lineage and is forgotten before anything is pruned
  let best: BestPointer | null = null;
  if (resumedFrom === null) {
    if (readBestPointer(o.out)) clearBestPointer(o.out); // a new lineage: an old pointer could name one of its steps
  } else if (readBestPointer(o.out)) {
    try {
      const b = resolveBestCheckpoint(o.out).best;
      if (b.step <= resumedFrom) best = b;
    } catch { /* handled below */ }
    if (!best) {
      o.onLog?.(`forgetting ${o.out}/best.json: it names a generation this run does not continue from`);
      clearBestPointer(o.out);
    }
  }
  const save = (): void => {
    saveCheckpoint(o.out, trainer, {
      totalSteps: o.steps, env: o.env, layout, normalizer,
      config: { ...o.config, windows: problem.starts.length },
      provenance: {
        dataset: o.dataset, seed: o.config.seed, command: o.command,
        ...(datasetCommand ? { datasetCommand } : {}), ...(commit ? { commit } : {}),
      },
      ...(last ? { metrics: { loss: last.loss, driftRms: last.driftRms } } : resumeMeta?.metrics ? { metrics: resumeMeta.metrics } : {}),
    }, { keep: o.keep ?? DEFAULT_KEEP_GENERATIONS });
  };
  const datasetCommand = readDatasetProvenance(o.dataset)?.command;
  const commit = gitCommit();
  let last: StepStats | undefined;
  const rows = o.config.conditionsPerStep * o.config.samplesPerCondition;
  const t0 = performance.now();
  const startStep = trainer.stepCount;
  let interrupted = false;
  let saved: number | null = resumedFrom;
  let wps = 0;
  const y = new EventLoopYield();
  while (trainer.stepCount < o.steps) {
    if (o.signal?.aborted) { interrupted = true; break; }
    const stats = trainer.step();
    if (!Number.isFinite(stats.loss) || !Number.isFinite(stats.gradNorm) || !Number.isFinite(stats.driftRms)) {
      // nothing from this step on is saved: the last generation on disk stays the newest good one
      throw new TrainingDivergedError(stats, saved);
    }
    last = stats;
    const secs = (performance.now() - t0) / 1000;
    wps = ((trainer.stepCount - startStep) * rows) / Math.max(1e-9, secs);
    o.onStep?.(last, wps);
    if (trainer.stepCount % o.checkpointEvery === 0) { save(); saved = trainer.stepCount; }
    if (o.evalEvery && trainer.stepCount % o.evalEvery === 0) {
      const r = await evaluateTrainer(trainer, {
        env: o.env, layout, normalizer, episodes: o.evalEpisodes ?? 10, seed: TRAIN_EVAL_SEED, candidates: Math.min(64, trainer.net.batch),
        ...(o.evalScorer ? { scorer: o.evalScorer } : {}), ...(o.signal ? { signal: o.signal } : {}),
      });
      o.onEval?.(trainer.stepCount, r);
      // an evaluation cut short by an interrupt scored fewer episodes: it cannot compete
      const complete = r.episodes === (o.evalEpisodes ?? 10) && !o.signal?.aborted;
      if (o.keepBest && complete && (!best || r.normalizedScore > best.score)) {
        // the generation first (fsynced, renamed), then the pointer: best.json never names a partial folder
        if (saved !== trainer.stepCount) { save(); saved = trainer.stepCount; }
        best = saveBestPointer(o.out, {
          generation: generationName(trainer.stepCount), step: trainer.stepCount, score: r.normalizedScore,
          successRate: r.successRate, episodes: r.episodes, seed: r.seed, select: r.select,
        }, { keep: o.keep ?? DEFAULT_KEEP_GENERATIONS });
      }
    }
    // hand the thread back every 50 ms so SIGINT is seen (a step can take long with large batches)
    if (y.due()) await y.pause();
  }
  // a step already on disk is not re-saved: rewriting its folder would briefly remove a generation
  // best.json may name
  if (saved !== trainer.stepCount) save();
  return {
    out: o.out, steps: trainer.stepCount, resumedFrom, interrupted,
    seconds: Math.round((performance.now() - t0) / 100) / 10, windowsPerSec: Math.round(wps),
    finalLoss: last?.loss ?? NaN, finalDriftRms: last?.driftRms ?? NaN,
    arch: trainer.convSpec ? 'conv' : trainer.transformerSpec ? 'transformer' : 'mlp',
    params: trainer.convSpec ? convParamCount(trainer.convSpec) : trainer.transformerSpec ? transformerParamCount(trainer.transformerSpec) : paramCount(trainer.spec),
    ...(best ? { best: { step: best.step, score: best.score, generation: best.generation } } : {}),
  };
}
