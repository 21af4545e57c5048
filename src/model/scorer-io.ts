/**
 * A trained scorer folder (`kdp train-scorer` writes it, `kdp export --scorer` reads it):
 *   scorer.json          meta (spec, ctgScale, normalizer, provenance, held-out figures, sha256 of the weights)
 *   scorer-weights.bin   EMA weights, float32, `packWeights` layout
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CheckpointError } from '../errors.js';
import type { NormalizerJson } from './checkpoint-format.js';
import { paramCount, unpackWeights, type MlpSpec, type MlpWeights } from './mlp-spec.js';

export const SCORER_JSON = 'scorer.json';
export const SCORER_WEIGHTS = 'scorer-weights.bin';

export interface ScorerMeta {
  format: 'kdp-scorer';
  version: 1;
  env: string;
  mlp: MlpSpec;
  ctgScale: number;
  positionDims: number[];
  normalizer: NormalizerJson;
  steps: number;
  /** the training configuration (train/scorer-trainer.ts ScorerTrainConfig) */
  config: Record<string, unknown>;
  /** held-out figures (occAccuracy, occRecall, ctgRmse, ctgRelRmse) */
  holdout: Record<string, number>;
  provenance: { checkpoint: string; dataset: string; seed: number; command?: string };
  weights: { sha256: string; bytes: number };
  createdAt: string;
}

/** Read and verify a scorer folder (meta + weights checked against its sha256 and the spec). */
export function loadScorer(dir: string): { meta: ScorerMeta; weights: MlpWeights } {
  const mPath = join(dir, SCORER_JSON);
  if (!existsSync(mPath)) throw new CheckpointError(`${dir} has no ${SCORER_JSON}`, { hint: 'train one with `kdp train-scorer --checkpoint RUN --out DIR`' });
  let meta: ScorerMeta;
  try {
    meta = JSON.parse(readFileSync(mPath, 'utf8')) as ScorerMeta;
  } catch (e) {
    throw new CheckpointError(`${mPath} is not valid JSON`, { cause: e, hint: 'retrain the scorer' });
  }
  if (meta?.format !== 'kdp-scorer' || meta.version !== 1 || !meta.mlp || !meta.weights) throw new CheckpointError(`${mPath} is not a kdp-scorer v1 file`, { hint: 'retrain the scorer with this version of kdp' });
  const wPath = join(dir, SCORER_WEIGHTS);
  if (!existsSync(wPath)) throw new CheckpointError(`${wPath} is missing`, { hint: 'retrain the scorer' });
  const buf = readFileSync(wPath);
  if (buf.length !== meta.weights.bytes || createHash('sha256').update(buf).digest('hex') !== meta.weights.sha256) {
    throw new CheckpointError(`${wPath} does not match ${SCORER_JSON} (size or sha256 differs)`, { hint: 'the file was modified or truncated: retrain the scorer' });
  }
  if (buf.length !== paramCount(meta.mlp) * 4) throw new CheckpointError(`${wPath}: ${buf.length} bytes, the network needs ${paramCount(meta.mlp) * 4}`);
  const flat = new Float32Array(buf.length / 4);
  flat.set(new Float32Array(buf.buffer, buf.byteOffset, flat.length));
  return { meta, weights: unpackWeights(meta.mlp, flat) };
}
