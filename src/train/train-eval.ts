/**
 * Closed-loop evaluation of the generator while it trains (`kdp train --eval-every N`): the EMA weights
 * plan in the env through the same loop and scoring as `kdp eval` (float32 forward instead of the
 * TFLite interpreter; no oracle: goal-distance selection, or the learned scorer when one is given).
 */
import { envInfo } from '../envs/registry.js';
import { evaluate, type EvalResult } from '../eval/evaluate.js';
import type { LoadedModel } from '../planner/model-loader.js';
import { createFloatScorer } from '../planner/scorer-backend.js';
import type { NormalizerJson, WindowLayout } from '../model/checkpoint-format.js';
import { loadScorer } from '../model/scorer-io.js';
import type { ModelManifest } from '../planner/manifest.js';
import type { KdpTrainer } from './kdp-trainer.js';

export interface TrainEvalOptions {
  env: string;
  layout: WindowLayout;
  normalizer: NormalizerJson;
  episodes: number;
  /** first episode seed: keep it away from the seeds the headline figures use */
  seed: number;
  candidates: number;
  /** a `kdp train-scorer` folder trained with the same normalizer: select with it (else goal distance) */
  scorer?: string;
  signal?: AbortSignal;
}

export async function evaluateTrainer(trainer: KdpTrainer, o: TrainEvalOptions): Promise<EvalResult> {
  const info = envInfo(o.env);
  const planner = trainer.plannerBackend(o.candidates);
  // what the loop reads of a manifest: env, layout, normalizer and the boundary shapes it checks
  const manifest = {
    env: o.env, layout: o.layout, normalizer: o.normalizer, candidates: o.candidates,
    inputs: [{ name: 'noise', shape: [o.candidates, planner.noiseDim], dtype: 'float32' }, { name: 'condition', shape: [o.candidates, planner.condDim], dtype: 'float32' }],
    outputs: [{ name: 'plan', shape: [o.candidates, planner.outDim], dtype: 'float32' }],
  } as unknown as ModelManifest;
  const model: LoadedModel = { dir: '(training)', manifest, bytes: new Uint8Array(0) };
  let scorer;
  if (o.scorer) {
    const s = loadScorer(o.scorer);
    if (JSON.stringify(s.meta.normalizer) !== JSON.stringify(o.normalizer)) throw new Error(`scorer ${o.scorer} was trained with another normalizer`);
    scorer = createFloatScorer(s.weights, o.candidates * (o.layout.horizon - 1), s.meta.ctgScale);
  }
  return evaluate({
    env: info.name, model, planner, episodes: o.episodes, seed: o.seed, candidates: o.candidates,
    select: scorer ? 'learned' : 'goal', ...(scorer ? { scorer } : {}), ...(o.signal ? { signal: o.signal } : {}),
  });
}
