/**
 * The learned plan scorer as the loop sees it: fixed buffers for `rows` waypoints (N candidates ×
 * the plan steps after s_0), one synchronous allocation-free invoke, outputs per row
 * `[occupancy logit, cost-to-go / ctgScale]` (see train/scorer-trainer.ts for what they mean).
 */
import type { MlpWeights } from '../model/mlp-spec.js';
import { activate } from '../model/mlp-spec.js';

export interface ScorerBackend {
  readonly rows: number;
  /** rows × 2: waypoint position, normalized like the plan */
  readonly points: Float32Array;
  /** rows × goalDim: the goal, normalized like the condition */
  readonly goals: Float32Array;
  /** rows × 2, valid after invoke() */
  readonly out: Float32Array;
  /** cost-to-go output × ctgScale = env steps */
  readonly ctgScale: number;
  /**
   * a waypoint is "unvisited" when its occupancy output is below this (the output's units: the
   * calibrated logit threshold × the exporter's occupancy scale)
   */
  readonly occupancyThreshold: number;
  readonly arenaBytes: number;
  readonly name: string;
  invoke(): void;
}

/**
 * A float32 scorer straight from trainer weights (no TFLite): for scoring during training
 * (`kdp train --eval-every`) and for tests. Buffers are allocated here, never in invoke().
 */
export function createFloatScorer(w: MlpWeights, rows: number, ctgScale: number, occupancyThreshold = 0): ScorerBackend {
  const { spec } = w;
  if (spec.noiseDim !== 2 || spec.outputDim !== 2) throw new RangeError(`not a scorer network: ${spec.noiseDim}+${spec.condDim} → ${spec.outputDim}`);
  const points = new Float32Array(rows * 2), goals = new Float32Array(rows * spec.condDim), out = new Float32Array(rows * 2);
  const widest = Math.max(...spec.hidden, spec.noiseDim + spec.condDim, 2);
  const a = new Float32Array(widest), b = new Float32Array(widest);
  const L = w.layers.length;
  return {
    rows, points, goals, out, ctgScale, occupancyThreshold, arenaBytes: 0, name: 'float',
    invoke(): void {
      for (let r = 0; r < rows; r++) {
        a[0] = points[r * 2]!; a[1] = points[r * 2 + 1]!;
        for (let j = 0; j < spec.condDim; j++) a[2 + j] = goals[r * spec.condDim + j]!;
        let x = a, y = b;
        for (let l = 0; l < L; l++) {
          const { inDim, outDim, W, b: bias } = w.layers[l]!;
          for (let o = 0; o < outDim; o++) {
            let s = bias[o]!;
            const row = o * inDim;
            for (let i = 0; i < inDim; i++) s += W[row + i]! * x[i]!;
            y[o] = l < L - 1 ? activate(spec.activation, s) : s;
          }
          const t = x; x = y; y = t;
        }
        out[r * 2] = x[0]!; out[r * 2 + 1] = x[1]!;
      }
    },
  };
}
