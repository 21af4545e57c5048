import type { NormalizerJson, WindowLayout } from '../model/checkpoint-format.js';
import type { MlpSpec } from '../model/mlp-spec.js';
import type { ConvSpec } from '../model/conv-spec.js';
import type { TransformerSpec } from '../model/transformer-spec.js';

/** File names inside a model directory (models/<name>/). */
export const MODEL_FILE = 'model.tflite';
export const MANIFEST_FILE = 'manifest.json';

/** A boundary tensor of the model, in signature order. Always float32 at the boundary. */
export interface TensorInfo {
  name: string;
  /** [candidates, features] */
  shape: number[];
  dtype: 'float32';
}

export const SCORER_FILE = 'scorer.tflite';
/** the sparse route generator of a hierarchical model */
export const ROUTES_FILE = 'routes.tflite';

/** A second network a model folder ships (scorer, routes): its file, precision and I/O. */
export interface NetworkFileEntry {
  file: string;
  sha256: string;
  bytes: number;
  quantization: 'int8' | 'fp32';
  weightBits?: number;
  inputs: TensorInfo[];
  outputs: TensorInfo[];
}

/** inputs: `points` [rows, 2] (normalized plan positions), `goal` [rows, goalDim]; output `score` [rows, 2] */
export interface ScorerManifest extends NetworkFileEntry {
  mlp: MlpSpec;
  /** cost-to-go output × ctgScale = env steps */
  ctgScale: number;
  /** logit below which a waypoint counts as unvisited (calibrated on held-out dataset states; default 0) */
  occupancyThreshold?: number;
  /** occupancy output = logit × occupancyScale (> 0; the exporter balances the two heads for int8) */
  occupancyScale?: number;
  /**
   * the loop's default cost (env steps) per waypoint below the occupancy threshold (absent: 1000, the
   * occupancy term decides first; 0: cost-to-go only). Chosen per maze on tuning episodes (docs/kdp.md).
   */
  infeasibleCost?: number;
  /** state dims read as the waypoint position */
  positionDims: number[];
  /** interpreter arena at the exported rows */
  arenaBytes: number;
  provenance: { run: string; trainingSteps: number; seed: number; dataset: string; command?: string };
  /** held-out figures measured when it was trained */
  holdout?: Record<string, number>;
}

/**
 * models/<name>/manifest.json — everything the edge needs besides the .tflite bytes.
 * Inputs (signature order): `noise` [N, noiseDim], `condition` [N, condDim]; output: `plan` [N, outDim]
 * where outDim = generatorOutputDim(layout) (the window without the clamped first state), all in
 * normalized units; the loop un-normalizes with `normalizer`.
 */
export interface ModelManifest {
  format: 'kdp-model';
  version: 1;
  name: string;
  createdAt: string;
  env: string;
  /** weightBits (int8 only, added with --weight-bits): bits the FC weights use inside their int8 tensors */
  model: { file: string; sha256: string; bytes: number; quantization: 'int8' | 'fp32'; weightBits?: number };
  inputs: TensorInfo[];
  outputs: TensorInfo[];
  /** batch dimension of the exported graph = candidate plans per invoke */
  candidates: number;
  noiseDim: number;
  layout: WindowLayout;
  normalizer: NormalizerJson;
  /** names of the condition vector's entries, e.g. ["x","y","vx","vy","goal_x","goal_y"] */
  conditionNames: string[];
  /**
   * bytes the edge runtime reserves for `candidates` plans per invoke: the interpreter's arena after
   * allocate() (packed constants + activations overlapped by lifetime). Older manifests
   * (arenaPlan 'greedy-lifetime-16') counted activations only.
   */
  arenaBytes: number;
  /** how arenaBytes was computed (added by the exporter; absent in older manifests) */
  arenaPlan?: 'greedy-lifetime-16' | 'interpreter';
  /** the generator network's shape (added by the exporter; absent in older manifests) */
  mlp?: MlpSpec;
  /**
   * the generator architecture (added by the exporter from checkpoints that record one; absent: mlp).
   * A temporal conv ships as its exact dense equivalent (`mlp` above: block-Toeplitz FULLY_CONNECTED
   * weights), so the runtime needs nothing new; `conv` and `params` say what was trained.
   */
  generator?: { arch: 'mlp'; params: number } | { arch: 'conv'; conv: ConvSpec; params: number; exportedAs: 'dense' }
    | { arch: 'transformer'; transformer: TransformerSpec; params: number; macs: number; exportedAs: 'attention' };
  /** SignatureDef key inside the .tflite (added by the exporter) */
  signatureKey?: string;
  /** int8 only: per boundary-adjacent tensor quantization, for reference */
  quantization?: Record<string, { scale: number; zeroPoint: number }>;
  provenance: {
    checkpoint: string;
    trainingSteps: number;
    seed: number;
    dataset: string;
    datasetCommand?: string;
    trainCommand?: string;
    commit?: string;
    calibration?: { samples: number; source: string };
    /** the checkpoint generation exported (trainingSteps is its step) */
    generation?: string;
    /** whether it is the run's best generation by its `--eval-every` score (`kdp train --keep-best`) */
    bestByEval?: boolean;
    bestEval?: { score: number; successRate: number; episodes: number; seed: number; select: string };
  };
  /**
   * monotonic release number (signed with the rest): a board refuses to activate a model whose
   * modelVersion is lower than the one it runs; `kdp rollback` is the explicit way back
   */
  modelVersion?: number;
  /**
   * The learned plan scorer (optional): a second TFLite file in the same folder, checked like `model`;
   * an MLP over one waypoint + the goal → [occupancy logit, cost-to-go / ctgScale], run over
   * candidates × (horizon − 1) rows per plan. Learned from the offline dataset only (train/scorer-trainer.ts).
   */
  scorer?: ScorerManifest;
  /**
   * Hierarchical planning (optional): the sparse route generator, a second KDP generator in the same
   * folder with the same condition (state, goal) and a coarse frame skip, so its window spans the maze.
   * Each plan first runs it for N routes, the learned scorer picks one, and the segment plans are then
   * selected toward the route's position `lookahead` env steps ahead (control/subgoal-stage.ts).
   */
  routes?: RoutesManifest;
  /** ed25519 signature over the manifest without this field */
  signature?: { alg: 'ed25519'; keyId: string; value: string };
}

/** The sparse route generator of a hierarchical model (see ModelManifest.routes). */
/** inputs: noise [N, noiseDim] + condition [N, stateDim + goalDim]; output plan [N, window without s_0] */
export interface RoutesManifest extends NetworkFileEntry {
  noiseDim: number;
  /** its own window: same dims as the model's layout, its horizon and (coarse) frame skip */
  layout: WindowLayout;
  normalizer: NormalizerJson;
  /** env steps ahead on the chosen route whose position the segment plans are selected toward */
  lookahead: number;
  /**
   * what the segment generator is conditioned on: the goal (the subgoal only steers selection), or the
   * subgoal itself
   */
  conditionOn: 'goal' | 'subgoal';
  /**
   * conditioned on the goal: the segment plan's first `subgoalSteps` waypoints are selected toward the subgoal,
   * the rest toward the goal (absent: all toward the subgoal)
   */
  subgoalSteps?: number;
  arenaBytes: number;
  mlp?: MlpSpec;
  provenance: { checkpoint: string; trainingSteps: number; seed: number; generation?: string; trainCommand?: string };
}

/** A file a manifest names: a plain file name in the model folder, its size and sha256. */
export interface ModelFileEntry { file: string; sha256: string; bytes: number }
