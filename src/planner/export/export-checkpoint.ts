/**
 * `exportCheckpoint`: checkpoint directory → models/<name>/{model.tflite, manifest.json}.
 *
 * Everything that can fail (reading and checking the checkpoint, calibration, serializing, re-reading
 * the written bytes with our own reader) happens in memory first; only then is the output directory
 * touched. model.tflite is written first and manifest.json last, each atomically (temp + fsync +
 * rename), so a present manifest.json always describes a complete model.tflite (it records its
 * sha256) and a failed export leaves no partial file behind.
 */
import { createHash } from 'node:crypto';
import { basename, join, resolve } from 'node:path';
import { KdpError, ModelError } from '../../errors.js';
import { existsSync, statSync } from 'node:fs';
import { writeFilesAtomic } from '../../util/atomic-write.js';
import { MANIFEST_FILE, MODEL_FILE, SCORER_FILE, type ModelManifest, type ScorerManifest } from '../manifest.js';
import { loadScorer } from '../../model/scorer-io.js';
import { readManifestFile, readModelFile } from '../model-file.js';
import { mlpForwardReference, paramCount, type MlpWeights } from '../../model/mlp-spec.js';
import { convParamCount } from '../../model/conv-spec.js';
import { transformerMacs, transformerParamCount } from '../../model/transformer-spec.js';
import { exportTransformer } from './transformer-graph.js';
import { SeededRandom } from '../../util/rng.js';
import type { NormalizerJson, WindowLayout } from '../../model/checkpoint-format.js';
import { readTflite } from '../tflite/reader.js';
import { Interpreter } from '../runtime/interpreter.js';
import { loadCheckpoint, type LoadedCheckpoint } from '../../model/checkpoint-io.js';
import type { WeightBits } from './quant.js';
import { DEFAULT_CALIBRATION_SAMPLES, exportMlp, INPUT_NAMES, OUTPUT_NAME, SIGNATURE_KEY, type MlpExport, type Quantization } from './mlp-graph.js';

export interface ExportCheckpointOptions {
  checkpoint: string;
  out: string;
  /** default 'int8' */
  quantization?: Quantization;
  /** int8 calibration (noise, condition) pairs (default 1024) */
  calibration?: number;
  /** batch dimension = candidate plans per invoke (default 64) */
  candidates?: number;
  /** int8: bits of the FC weights inside their int8 tensors (default 8; 6 runs the relaxed-SIMD kernel) */
  weightBits?: WeightBits;
  /** a `kdp train-scorer` folder: ship its learned plan scorer as scorer.tflite beside the generator */
  scorer?: string;
  /** the scorer's precision (default int8 with 8-bit weights; 6-bit weights cost it its planning score, docs/kdp.md) */
  scorerQuantization?: Quantization;
  /** bits of the scorer's int8 FC weights (default 8, whatever the generator uses) */
  scorerWeightBits?: WeightBits;
  /** record the loop's default occupancy penalty in the scorer's manifest entry (absent = 1000) */
  scorerInfeasibleCost?: number;
  /** export the best-by-eval generation (best.json of a `kdp train --keep-best` run) instead of the newest */
  best?: boolean;
  /** for reproducible manifests in tests */
  now?: Date;
}

export interface ExportCheckpointResult {
  out: string;
  quantization: Quantization;
  bytes: number;
  sha256: string;
  arenaBytes: number;
  modelPath: string;
  manifestPath: string;
  manifest: ModelManifest;
  /** the in-memory export (graph, int8 network for the integer reference) */
  export: MlpExport;
}

export function exportCheckpoint(opts: ExportCheckpointOptions): ExportCheckpointResult {
  const quantization = opts.quantization ?? 'int8';
  const ck = loadCheckpoint(opts.checkpoint, { best: opts.best === true });
  const { meta, weights } = ck;
  const spec = weights.spec;
  const out = resolve(opts.out);
  const name = basename(out);

  const exportOpts = {
    quantization,
    candidates: opts.candidates ?? 64,
    ...(opts.weightBits !== undefined ? { weightBits: opts.weightBits } : {}),
    calibration: { ...(ck.calibrationConditions ? { conditions: ck.calibrationConditions } : {}), samples: opts.calibration ?? DEFAULT_CALIBRATION_SAMPLES, seed: meta.provenance?.seed ?? 0 },
    description: `kdp generator for ${meta.env} (checkpoint step ${meta.step}, ${quantization})`,
  };
  // a transformer exports with its attention ops (transformer-graph.ts); mlp and conv as dense FCs
  const ex = meta.arch === 'transformer' && meta.transformer ? exportTransformer(meta.transformer, ck.flat, exportOpts) : exportMlp(weights, exportOpts);
  // Self-check with our own bounds-checked reader before anything is written.
  const parsed = readTflite(ex.bytes);
  const sg = parsed.subgraphs[0]!;
  if (sg.inputs.length !== 2 || sg.outputs.length !== 1) throw new ModelError('E_MODEL_MISMATCH', 'exported graph has unexpected I/O');

  const sha256 = createHash('sha256').update(ex.bytes).digest('hex');
  const N = ex.candidates;
  const layout = meta.layout;
  const stateNames = layout.stateNames.slice(0, layout.stateDim);
  while (stateNames.length < layout.stateDim) stateNames.push(`s${stateNames.length}`);
  const goalNames = Array.from({ length: layout.goalDim }, (_, i) => `goal_${stateNames[i] ?? i}`);

  // what the edge actually reserves: the interpreter's arena (packed weights + planned activations) at N
  const arenaBytes = Interpreter.fromBytes(ex.bytes, { batch: N, backend: 'reference' }).allocate().arenaBytes;
  const manifest: ModelManifest = {
    format: 'kdp-model',
    version: 1,
    name,
    createdAt: (opts.now ?? new Date()).toISOString(),
    env: meta.env,
    model: { file: MODEL_FILE, sha256, bytes: ex.bytes.length, quantization, ...(quantization === 'int8' ? { weightBits: opts.weightBits ?? 8 } : {}) },
    inputs: [
      { name: INPUT_NAMES[0], shape: [N, spec.noiseDim], dtype: 'float32' },
      { name: INPUT_NAMES[1], shape: [N, spec.condDim], dtype: 'float32' },
    ],
    outputs: [{ name: OUTPUT_NAME, shape: [N, spec.outputDim], dtype: 'float32' }],
    candidates: N,
    noiseDim: spec.noiseDim,
    layout,
    normalizer: meta.normalizer,
    conditionNames: [...stateNames, ...goalNames],
    arenaBytes,
    arenaPlan: 'interpreter',
    mlp: spec,
    ...(meta.arch === 'transformer' && meta.transformer ? { generator: { arch: 'transformer' as const, transformer: meta.transformer, params: transformerParamCount(meta.transformer), macs: transformerMacs(meta.transformer), exportedAs: 'attention' as const } }
      : meta.arch === 'conv' && meta.conv ? { generator: { arch: 'conv' as const, conv: meta.conv, params: convParamCount(meta.conv), exportedAs: 'dense' as const } }
      : meta.arch === 'mlp' ? { generator: { arch: 'mlp' as const, params: paramCount(spec) } } : {}),
    signatureKey: SIGNATURE_KEY,
    ...(ex.boundaryQuantization ? { quantization: ex.boundaryQuantization } : {}),
    provenance: {
      checkpoint: opts.checkpoint,
      trainingSteps: meta.step,
      seed: meta.provenance.seed,
      dataset: meta.provenance.dataset,
      ...(meta.provenance.datasetCommand !== undefined ? { datasetCommand: meta.provenance.datasetCommand } : {}),
      ...(meta.provenance.command !== undefined ? { trainCommand: meta.provenance.command } : {}),
      ...(meta.provenance.commit !== undefined ? { commit: meta.provenance.commit } : {}),
      ...(ex.calibration ? { calibration: { samples: ex.calibration.samples, source: ex.calibration.source } } : {}),
      ...exportedGeneration(ck),
    },
  };

  const files: Array<[string, Uint8Array | string]> = [];
  if (opts.scorer) {
    const sq = opts.scorerQuantization ?? 'int8';
    const sc = exportScorer(opts.scorer, meta, ck.calibrationConditions ?? undefined, N, sq, sq === 'int8' ? opts.scorerWeightBits ?? 8 : undefined, opts.calibration);
    manifest.scorer = { ...sc.manifest, ...(opts.scorerInfeasibleCost === undefined ? {} : { infeasibleCost: opts.scorerInfeasibleCost }) };
    files.push([join(out, SCORER_FILE), sc.bytes]);
  }
  const modelPath = join(out, MODEL_FILE);
  const manifestPath = join(out, MANIFEST_FILE);
  files.push([modelPath, ex.bytes], [manifestPath, JSON.stringify(manifest, null, 2) + '\n']);
  writeBothAtomic(out, files);
  return { out, quantization, bytes: ex.bytes.length, sha256, arenaBytes, modelPath, manifestPath, manifest, export: ex };
}

/**
 * Which generation the weights came from (trainingSteps is its step) and whether it is the run's
 * best-by-eval one: true whenever best.json names it, also when the newest generation is the best.
 */
function exportedGeneration(ck: LoadedCheckpoint): { generation?: string; bestByEval: boolean; bestEval?: { score: number; successRate: number; episodes: number; seed: number; select: string } } {
  const b = ck.best;
  return {
    ...(ck.generation ? { generation: ck.generation } : {}),
    bestByEval: b !== undefined,
    ...(b ? { bestEval: { score: b.score, successRate: b.successRate, episodes: b.episodes, seed: b.seed, select: b.select } } : {}),
  };
}

/** Stage both files, then rename them into place (the manifest last); nothing is touched on failure. */
export function writeBothAtomic(dir: string, files: Array<[path: string, data: Uint8Array | string]>): void {
  if (existsSync(dir) && !statSync(dir).isDirectory()) {
    throw new ModelError('E_MODEL_IO', `--out ${dir} exists and is not a directory`, { hint: 'choose a directory path, e.g. models/<name>' });
  }
  try {
    writeFilesAtomic(files);
  } catch (e) {
    if (e instanceof KdpError) throw e; // already typed (E_IO naming the folder, with its own hint): do not wrap
    throw new ModelError('E_MODEL_IO', `cannot write the model to ${dir}: ${(e as Error).message}`, { cause: e, hint: 'check that the --out directory is writable and the disk is not full' });
  }
}

/**
 * The learned scorer as a second TFLite graph with the generator's MLP shape: inputs `points`
 * [rows, 2] + `goal` [rows, goalDim] → `score` [rows, 2], rows = candidates × (horizon − 1).
 * int8 calibration: the goal part of the generator's calibration conditions, positions ~ N(0, 1)
 * (normalized plan positions; the input range is at least ±4).
 */
function exportScorer(dir: string, meta: { env: string; layout: WindowLayout; normalizer: NormalizerJson }, calib: Float32Array | undefined, N: number, quantization: Quantization, weightBits: WeightBits | undefined, samples: number | undefined): { bytes: Uint8Array; manifest: ScorerManifest } {
  const { meta: sm, weights } = loadScorer(dir);
  const L = meta.layout;
  if (sm.env !== meta.env) throw new ModelError('E_MODEL_MISMATCH', `scorer ${dir} was trained for ${sm.env}, the generator for ${meta.env}`, { hint: 'train the scorer with --checkpoint pointing at this generator run' });
  if (JSON.stringify(sm.normalizer) !== JSON.stringify(meta.normalizer)) {
    throw new ModelError('E_MODEL_MISMATCH', `scorer ${dir} was trained with another normalizer than the generator`, { hint: 'retrain the scorer with --checkpoint pointing at this generator run' });
  }
  if (weights.spec.noiseDim !== 2 || weights.spec.condDim !== L.goalDim || weights.spec.outputDim !== 2) {
    throw new ModelError('E_MODEL_SHAPE', `scorer ${dir}: network ${weights.spec.noiseDim}+${weights.spec.condDim} → ${weights.spec.outputDim}, expected 2+${L.goalDim} → 2`);
  }
  const rows = N * (L.horizon - 1);
  const dc = L.stateDim + L.goalDim;
  let goals: Float32Array | undefined;
  if (calib && calib.length % dc === 0 && L.goalDim > 0) {
    const n = calib.length / dc;
    goals = new Float32Array(n * L.goalDim);
    for (let i = 0; i < n; i++) for (let g = 0; g < L.goalDim; g++) goals[i * L.goalDim + g] = calib[i * dc + L.stateDim + g]!;
  }
  const { weights: scaled, occupancyScale } = balanceScorerHeads(weights, L.goalDim);
  const ex = exportMlp(scaled, {
    quantization, candidates: rows, ...(weightBits !== undefined ? { weightBits } : {}),
    calibration: { ...(goals ? { conditions: goals } : {}), samples: samples ?? DEFAULT_CALIBRATION_SAMPLES, seed: (sm.config.seed as number | undefined) ?? 0 },
    ioNames: { inputs: ['points', 'goal'], output: 'score' },
    name: 'kdp_scorer', description: `kdp learned plan scorer for ${meta.env} (occupancy logit, cost-to-go; ${quantization})`,
  });
  const arenaBytes = Interpreter.fromBytes(ex.bytes, { batch: rows, backend: 'reference' }).allocate().arenaBytes;
  return {
    bytes: ex.bytes,
    manifest: {
      file: SCORER_FILE, sha256: createHash('sha256').update(ex.bytes).digest('hex'), bytes: ex.bytes.length, quantization,
      ...(quantization === 'int8' ? { weightBits: weightBits ?? 8 } : {}),
      inputs: [{ name: 'points', shape: [rows, 2], dtype: 'float32' }, { name: 'goal', shape: [rows, L.goalDim], dtype: 'float32' }],
      outputs: [{ name: 'score', shape: [rows, 2], dtype: 'float32' }],
      mlp: weights.spec, ctgScale: sm.ctgScale, occupancyScale, occupancyThreshold: sm.holdout.occThreshold ?? 0, positionDims: sm.positionDims, arenaBytes,
      provenance: { run: dir, trainingSteps: sm.steps, seed: (sm.config.seed as number | undefined) ?? 0, dataset: sm.provenance.dataset, ...(sm.provenance.command ? { command: sm.provenance.command } : {}) },
      holdout: sm.holdout,
    },
  };
}

export interface AttachScorerOptions {
  /** an exported model folder (manifest.json + model.tflite) */
  model: string;
  /** a `kdp train-scorer` folder */
  scorer: string;
  /** where to write (default: the model folder itself) */
  out?: string;
  /** the scorer's precision (default int8, 8-bit weights; see ExportCheckpointOptions.scorerQuantization) */
  quantization?: Quantization;
  weightBits?: WeightBits;
  calibration?: number;
  /** record the loop's default occupancy penalty (scorer.infeasibleCost; absent = 1000) */
  infeasibleCost?: number;
}

/**
 * Ship a learned scorer beside an already exported generator: model.tflite is kept byte for byte, the
 * manifest gains `scorer` (a previous signature no longer covers it and is dropped: re-sign).
 * scorer.tflite first, manifest.json last, each atomic.
 */
export function attachScorer(o: AttachScorerOptions): { out: string; manifest: ModelManifest; dropped: { signature: boolean } } {
  // the same checks as every loader: schema, plain file names inside the folder, regular files, sha256
  const manifest = readManifestFile(o.model);
  const modelBytes = readModelFile(o.model, manifest.model, 'model');
  const quantization = o.quantization ?? 'int8';
  const weightBits = quantization === 'int8' ? o.weightBits ?? 8 : undefined;
  const sc = exportScorer(o.scorer, manifest, undefined, manifest.candidates, quantization, quantization === 'int8' ? weightBits : undefined, o.calibration);
  const { signature, ...unsigned } = manifest;
  const next: ModelManifest = { ...unsigned, scorer: { ...sc.manifest, ...(o.infeasibleCost === undefined ? {} : { infeasibleCost: o.infeasibleCost }) } };
  const out = resolve(o.out ?? o.model);
  const files: Array<[string, Uint8Array | string]> = [[join(out, SCORER_FILE), sc.bytes]];
  if (resolve(o.model) !== out) files.push([join(out, manifest.model.file), new Uint8Array(modelBytes)]);
  files.push([join(out, MANIFEST_FILE), JSON.stringify(next, null, 2) + '\n']);
  writeBothAtomic(out, files);
  return { out, manifest: next, dropped: { signature: signature !== undefined } };
}

/**
 * The two scorer outputs share one int8 output tensor (per-tensor quantization), but their ranges
 * differ by ~50×: the occupancy logit reaches −100…−200 far outside the data, while the cost-to-go head
 * spans ≈ 0…5. Left as is, the shared scale would round the cost-to-go to ~25 env steps. The loop only
 * reads the logit's sign, so the occupancy row of the last layer is scaled by a positive factor that
 * brings its range (on the calibration distribution: N(0, 1) positions and goals) to twice the
 * cost-to-go's; the manifest records it (logit = out0 / occupancyScale).
 */
function balanceScorerHeads(w: MlpWeights, goalDim: number): { weights: MlpWeights; occupancyScale: number } {
  const rng = new SeededRandom(0x5c0e);
  const x = new Float64Array(2 + goalDim), y = new Float32Array(2);
  let occLo = Infinity, occHi = -Infinity, ctgLo = Infinity, ctgHi = -Infinity;
  for (let i = 0; i < 4096; i++) {
    for (let j = 0; j < x.length; j++) x[j] = rng.normal();
    mlpForwardReference(w, x, y);
    occLo = Math.min(occLo, y[0]!); occHi = Math.max(occHi, y[0]!);
    ctgLo = Math.min(ctgLo, y[1]!); ctgHi = Math.max(ctgHi, y[1]!);
  }
  const k = Math.min(1, (2 * (ctgHi - ctgLo)) / Math.max(1e-9, occHi - occLo));
  const last = w.layers[w.layers.length - 1]!;
  const W = Float32Array.from(last.W), b = Float32Array.from(last.b);
  for (let i = 0; i < last.inDim; i++) W[i] = W[i]! * k;
  b[0] = b[0]! * k;
  return { weights: { spec: w.spec, layers: [...w.layers.slice(0, -1), { ...last, W, b }] }, occupancyScale: k };
}
