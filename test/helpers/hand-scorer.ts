/**
 * A hand-built learned scorer for selection tests: inputs [x, y, gx, gy] (normalized), occupancy logit
 * 1 − x (x > 1 counts as unvisited), cost-to-go |x − gx| × ctgScale 10. As a float backend, or written
 * as a `kdp train-scorer` folder for the exporter.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { NormalizerJson } from '../../src/model/checkpoint-format.js';
import type { MlpWeights } from '../../src/model/mlp-spec.js';
import { createFloatScorer } from '../../src/planner/scorer-backend.js';
import { writeFilesAtomic } from '../../src/util/atomic-write.js';

/**
 * A hand-built scorer: occupancy logit = 1 − x (x > 1 is "unvisited"), cost-to-go = |x − goal_x|
 * (ReLU net: h = [relu(1 − x), relu(x − g), relu(g − x)], out = [h0 − relu(x − 1)…] kept simple below).
 */
export function handScorer(rows: number): ReturnType<typeof createFloatScorer> {
  // inputs [x, y, gx, gy]; hidden (relu): h0 = x − 1, h1 = x − gx, h2 = gx − x, h3 = 1 − x
  const W0 = new Float32Array([1, 0, 0, 0, 1, 0, -1, 0, -1, 0, 1, 0, -1, 0, 0, 0]);
  const b0 = new Float32Array([-1, 0, 0, 1]);
  // out0 = h3 − h0 = 1 − x (sign flips at x = 1); out1 = h1 + h2 = |x − gx|
  const W1 = new Float32Array([-1, 0, 0, 1, 0, 1, 1, 0]);
  const b1 = new Float32Array([0, 0]);
  const w: MlpWeights = { spec: { noiseDim: 2, condDim: 2, hidden: [4], outputDim: 2, activation: 'relu' }, layers: [{ inDim: 4, outDim: 4, W: W0, b: b0 }, { inDim: 4, outDim: 2, W: W1, b: b1 }] };
  return createFloatScorer(w, rows, 10);
}

/** handScorer's weights as a `kdp train-scorer` folder */
export function writeHandScorer(dir: string, env: string, norm: NormalizerJson): void {
  const w = new Float32Array([1, 0, 0, 0, 1, 0, -1, 0, -1, 0, 1, 0, -1, 0, 0, 0, -1, 0, 0, 1, -1, 0, 0, 1, 0, 1, 1, 0, 0, 0]);
  const bytes = new Uint8Array(w.buffer);
  const meta = {
    format: 'kdp-scorer', version: 1, env, mlp: { noiseDim: 2, condDim: 2, hidden: [4], outputDim: 2, activation: 'relu' }, ctgScale: 10, positionDims: [0, 1],
    normalizer: norm, steps: 1, config: { seed: 0 }, holdout: { occAccuracy: 1 }, provenance: { checkpoint: 'hand', dataset: 'memory', seed: 0 },
    weights: { sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length }, createdAt: new Date(0).toISOString(),
  };
  writeFilesAtomic([[join(dir, 'scorer-weights.bin'), bytes], [join(dir, 'scorer.json'), JSON.stringify(meta)]]);
}

