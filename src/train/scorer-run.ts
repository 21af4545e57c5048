/**
 * `kdp train-scorer`: the learned plan scorer for a trained generator, on the generator's own dataset
 * and normalizer (so the loop feeds it normalized plan outputs with no conversion). Output folder:
 *   scorer.json          meta (spec, ctgScale, normalizer, provenance, held-out figures, sha256 of the weights)
 *   scorer-weights.bin   EMA weights, float32, `packWeights` layout
 * written weights first, meta last, each atomically — a present scorer.json describes complete weights.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { loadDataset } from '../data/load.js';
import { envInfo } from '../envs/registry.js';
import { CheckpointError, UsageError } from '../errors.js';
import type { NormalizerJson } from '../model/checkpoint-format.js';
import { readCheckpointMeta } from '../model/checkpoint-io.js';
import { readManifestFile } from '../planner/model-file.js';
import { loadScorer, SCORER_JSON, SCORER_WEIGHTS, type ScorerMeta } from '../model/scorer-io.js';
import { packWeights } from '../model/mlp-spec.js';
import { writeFilesAtomic } from '../util/atomic-write.js';
import { DEFAULT_SCORER_CONFIG, ScorerTrainer, type ScorerHoldout, type ScorerStats, type ScorerTrainConfig } from './scorer-trainer.js';

export interface ScorerRunOptions {
  /** the generator: its run folder or an exported model folder (its env, dataset and normalizer are used) */
  checkpoint?: string;
  model?: string;
  out: string;
  dataset?: string;
  config?: Partial<ScorerTrainConfig>;
  command?: string;
  /** fraction of held-out dataset states that must count as visited (sets the occupancy threshold; default 0.99) */
  occupancyRecall?: number;
  /** do not train: load the scorer in `out`, re-measure its held-out figures and threshold, rewrite scorer.json */
  calibrateOnly?: boolean;
  signal?: AbortSignal;
  onStep?: (s: ScorerStats) => void;
}

export interface ScorerRunResult {
  out: string;
  steps: number;
  seconds: number;
  interrupted: boolean;
  holdout: ScorerHoldout;
  ctgScale: number;
}

export async function trainScorerRun(o: ScorerRunOptions): Promise<ScorerRunResult> {
  const meta = generatorFacts(o);
  const info = envInfo(meta.env);
  const dataset = o.dataset ?? meta.dataset;
  const ds = await loadDataset(dataset, { expect: { stateDim: info.stateDim, actionDim: info.actionDim, goalDim: info.goalDim } });
  const config: ScorerTrainConfig = { ...DEFAULT_SCORER_CONFIG, ...o.config };
  const prior = o.calibrateOnly ? loadScorer(o.out) : null;
  const trainer = new ScorerTrainer(ds, meta.normalizer, { positionDims: info.positionDims }, prior ? { ...config, ...(prior.meta.config as Partial<ScorerTrainConfig>) } : config);
  if (prior) {
    if (JSON.stringify(prior.meta.normalizer) !== JSON.stringify(meta.normalizer)) throw new CheckpointError(`${o.out} was trained for another generator (normalizer differs)`, { hint: 'retrain the scorer for this generator' });
    trainer.loadWeights(packWeights(prior.weights));
    trainer.stepCount = prior.meta.steps;
  }
  const t0 = performance.now();
  let interrupted = false;
  while (!prior && trainer.stepCount < config.steps) {
    if (o.signal?.aborted) { interrupted = true; break; }
    const s = trainer.step();
    o.onStep?.(s);
    if (trainer.stepCount % 50 === 0) await new Promise((r) => setImmediate(r));
  }
  const seconds = Math.round((performance.now() - t0) / 100) / 10;
  const holdout = trainer.holdout(20_000, o.occupancyRecall ?? 0.99);
  if (!interrupted) {
    const bytes = new Uint8Array(trainer.net.ema.buffer.slice(trainer.net.ema.byteOffset, trainer.net.ema.byteOffset + trainer.net.ema.byteLength));
    const m: ScorerMeta = {
      format: 'kdp-scorer', version: 1, env: meta.env, mlp: trainer.spec, ctgScale: trainer.ctgScale, positionDims: info.positionDims,
      normalizer: meta.normalizer, steps: trainer.stepCount, config: prior ? prior.meta.config : { ...config }, holdout: { ...holdout },
      provenance: prior ? prior.meta.provenance : { checkpoint: meta.ref, dataset, seed: config.seed, ...(o.command ? { command: o.command } : {}) },
      weights: { sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length },
      createdAt: new Date().toISOString(),
    };
    writeFilesAtomic([...(prior ? [] : [[join(o.out, SCORER_WEIGHTS), bytes] as [string, Uint8Array]]), [join(o.out, SCORER_JSON), JSON.stringify(m, null, 2) + '\n']]);
  }
  return { out: o.out, steps: trainer.stepCount, seconds, interrupted, holdout, ctgScale: trainer.ctgScale };
}


/** env, normalizer and dataset of the generator the scorer serves: from its run or its exported model. */
function generatorFacts(o: ScorerRunOptions): { env: string; normalizer: NormalizerJson; dataset: string; ref: string } {
  if (o.checkpoint !== undefined && o.model !== undefined) throw new UsageError('give --checkpoint or --model, not both');
  if (o.checkpoint !== undefined) {
    const m = readCheckpointMeta(o.checkpoint);
    return { env: m.env, normalizer: m.normalizer, dataset: m.provenance.dataset, ref: o.checkpoint };
  }
  if (o.model !== undefined) {
    const m = readManifestFile(o.model);
    return { env: m.env, normalizer: m.normalizer, dataset: m.provenance.dataset, ref: o.model };
  }
  throw new UsageError('the scorer needs its generator: --checkpoint RUN or --model DIR', 'e.g. --model models/maze2d-umaze');
}
