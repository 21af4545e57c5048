import type { NormalizerJson, WindowLayout } from '../model/checkpoint-format.js';
import type { MlpSpec } from '../model/mlp-spec.js';

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
  };
  /**
   * monotonic release number (signed with the rest): a board refuses to activate a model whose
   * modelVersion is lower than the one it runs; `kdp rollback` is the explicit way back
   */
  modelVersion?: number;
  /** an optional second network in the same folder (e.g. a plan scorer), checked like `model` */
  scorer?: ModelFileEntry & { quantization?: 'int8' | 'fp32'; inputs?: TensorInfo[]; outputs?: TensorInfo[]; [k: string]: unknown };
  /** ed25519 signature over the manifest without this field */
  signature?: { alg: 'ed25519'; keyId: string; value: string };
}

/** A file a manifest names: a plain file name in the model folder, its size and sha256. */
export interface ModelFileEntry { file: string; sha256: string; bytes: number }
