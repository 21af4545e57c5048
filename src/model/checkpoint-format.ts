import type { MlpSpec } from './mlp-spec.js';
import type { ConvSpec, GeneratorArch } from './conv-spec.js';
import type { TransformerSpec } from './transformer-spec.js';

/**
 * On-disk checkpoint (a directory, e.g. runs/umaze/):
 *   checkpoint.json   — this `CheckpointMeta`
 *   weights.bin       — EMA weights, float32 little-endian, `packWeights` layout (what export uses)
 *   train-state.bin   — raw weights + optimizer moments + RNG state (resume only)
 * All three are written atomically (temp + fsync + rename); checkpoint.json last, so a present
 * checkpoint.json always points at complete binaries (it records their sha256).
 */
export interface WindowLayout {
  /** plan length in plan steps */
  horizon: number;
  /** env steps between consecutive plan steps (temporal stride) */
  frameSkip: number;
  stateDim: number;
  actionDim: number;
  /** goal dims appended to the condition (0 when not goal-conditioned) */
  goalDim: number;
  /** env seconds per env step */
  dt: number;
  /** names for the per-step vector [state..., action...] */
  stateNames: string[];
  actionNames: string[];
}

/** Per-dimension affine normalizer: normalized = (x - shift) / scale. */
export interface NormalizerJson {
  kind: 'zscore' | 'minmax';
  state: { shift: number[]; scale: number[] };
  action: { shift: number[]; scale: number[] };
  goal: { shift: number[]; scale: number[] };
}

export interface CheckpointMeta {
  format: 'kdp-checkpoint';
  version: 1;
  step: number;
  totalSteps: number;
  createdAt: string;
  env: string;
  /** the dense network weights.bin holds (for arch 'conv': the conv's exact dense equivalent) */
  mlp: MlpSpec;
  /** generator architecture (absent in checkpoints older than --arch: 'mlp') */
  arch?: GeneratorArch;
  /** the temporal conv's shape when arch is 'conv' (train-state.bin then holds its free parameters) */
  conv?: ConvSpec;
  /** the transformer's shape when arch is 'transformer' (weights.bin then holds its flat parameters, `mlp` only its I/O) */
  transformer?: TransformerSpec;
  layout: WindowLayout;
  normalizer: NormalizerJson;
  /** the training configuration (key variant, batch sizes, temps, lr, ...) */
  config: Record<string, unknown>;
  provenance: { dataset: string; datasetCommand?: string; seed: number; commit?: string; command: string };
  files: { weights: { sha256: string; bytes: number }; trainState?: { sha256: string; bytes: number } };
  metrics?: Record<string, number>;
}

/**
 * Window vector layout (normalized space), time-major:
 *   [s_0, a_0, s_1, a_1, ..., s_{H-1}, a_{H-1}],  D = H·(stateDim+actionDim)
 * The generator outputs everything except s_0 (clamped to the condition's state): D − stateDim values,
 * i.e. [a_0, s_1, a_1, ...]. Condition = [s_t (stateDim), goal (goalDim)], normalized.
 */
export function windowDim(l: WindowLayout): number {
  return l.horizon * (l.stateDim + l.actionDim);
}
export function generatorOutputDim(l: WindowLayout): number {
  return windowDim(l) - l.stateDim;
}
export function conditionDim(l: WindowLayout): number {
  return l.stateDim + l.goalDim;
}
