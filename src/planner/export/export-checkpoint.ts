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
import { ModelError } from '../../errors.js';
import { existsSync, statSync } from 'node:fs';
import { writeFilesAtomic } from '../../util/atomic-write.js';
import { MANIFEST_FILE, MODEL_FILE, type ModelManifest } from '../manifest.js';
import { readTflite } from '../tflite/reader.js';
import { Interpreter } from '../runtime/interpreter.js';
import { loadCheckpoint } from '../../model/checkpoint-io.js';
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
  const ck = loadCheckpoint(opts.checkpoint);
  const { meta, weights } = ck;
  const spec = weights.spec;
  const out = resolve(opts.out);
  const name = basename(out);

  const ex = exportMlp(weights, {
    quantization,
    candidates: opts.candidates ?? 64,
    ...(opts.weightBits !== undefined ? { weightBits: opts.weightBits } : {}),
    calibration: { ...(ck.calibrationConditions ? { conditions: ck.calibrationConditions } : {}), samples: opts.calibration ?? DEFAULT_CALIBRATION_SAMPLES, seed: meta.provenance?.seed ?? 0 },
    description: `kdp generator for ${meta.env} (checkpoint step ${meta.step}, ${quantization})`,
  });
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
    },
  };

  const modelPath = join(out, MODEL_FILE);
  const manifestPath = join(out, MANIFEST_FILE);
  writeBothAtomic(out, [[modelPath, ex.bytes], [manifestPath, JSON.stringify(manifest, null, 2) + '\n']]);
  return { out, quantization, bytes: ex.bytes.length, sha256, arenaBytes, modelPath, manifestPath, manifest, export: ex };
}

/** Stage both files, then rename them into place (the manifest last); nothing is touched on failure. */
function writeBothAtomic(dir: string, files: Array<[path: string, data: Uint8Array | string]>): void {
  if (existsSync(dir) && !statSync(dir).isDirectory()) {
    throw new ModelError('E_MODEL_IO', `--out ${dir} exists and is not a directory`, { hint: 'choose a directory path, e.g. models/<name>' });
  }
  try {
    writeFilesAtomic(files);
  } catch (e) {
    throw new ModelError('E_MODEL_IO', `cannot write the model to ${dir}: ${(e as Error).message}`, { cause: e, hint: 'check that the --out directory is writable and the disk is not full' });
  }
}
