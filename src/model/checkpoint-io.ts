/**
 * Reading a trainer checkpoint directory, for export and for resuming training (format: checkpoint-format.ts):
 *   checkpoint.json, weights.bin (EMA weights, float32 LE, packWeights layout) and, optionally,
 *   calibration-conditions.bin (float32 LE, rows of condDim normalized conditions).
 * Every failure is a CheckpointError that says what to do.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CheckpointError } from '../errors.js';
import type { CheckpointMeta } from './checkpoint-format.js';
import { conditionDim, generatorOutputDim } from './checkpoint-format.js';
import { paramCount, unpackWeights, type MlpWeights } from './mlp-spec.js';

export const CHECKPOINT_JSON = 'checkpoint.json';
export const WEIGHTS_BIN = 'weights.bin';
export const CALIBRATION_BIN = 'calibration-conditions.bin';

export interface LoadedCheckpoint {
  dir: string;
  meta: CheckpointMeta;
  weights: MlpWeights;
  /** rows of condDim normalized conditions, or null if the trainer did not write them */
  calibrationConditions: Float32Array | null;
}

function readF32(path: string): Float32Array {
  const buf = readFileSync(path);
  if (buf.length % 4 !== 0) throw new CheckpointError(`${path}: ${buf.length} bytes is not a whole number of float32`, { hint: 'the file is truncated; re-run training or re-save the checkpoint' });
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length);
  return new Float32Array(ab);
}

/** checkpoint.json, validated (format, network spec, layout consistency). */
export function readCheckpointMeta(dir: string): CheckpointMeta {
  const metaPath = join(dir, CHECKPOINT_JSON);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new CheckpointError(`no checkpoint directory at ${dir}`,
      { hint: 'pass --checkpoint <dir> pointing at a training run (it contains checkpoint.json and weights.bin); create one with `kdp train`' });
  }
  if (!existsSync(metaPath)) {
    throw new CheckpointError(`${dir} has no ${CHECKPOINT_JSON}`,
      { hint: 'training may still be running or was interrupted before the first save; point --checkpoint at a finished run' });
  }
  let meta: CheckpointMeta;
  try {
    meta = JSON.parse(readFileSync(metaPath, 'utf8')) as CheckpointMeta;
  } catch (e) {
    throw new CheckpointError(`${metaPath} is not valid JSON`, { cause: e, hint: 'the checkpoint is corrupt; re-save it from training' });
  }
  if (meta?.format !== 'kdp-checkpoint' || meta.version !== 1) {
    throw new CheckpointError(`${metaPath}: not a kdp checkpoint v1 (format ${String(meta?.format)}, version ${String(meta?.version)})`,
      { hint: 'export needs a checkpoint written by `kdp train`' });
  }
  const spec = meta.mlp;
  if (!spec || !Array.isArray(spec.hidden) || ![spec.noiseDim, spec.condDim, spec.outputDim, ...spec.hidden].every((d) => Number.isInteger(d) && d > 0)
    || !['relu', 'silu', 'tanh'].includes(spec.activation)) {
    throw new CheckpointError(`${metaPath}: invalid mlp spec ${JSON.stringify(spec)}`, { hint: 'the checkpoint is corrupt or from an incompatible trainer' });
  }
  if (!meta.layout || !meta.provenance || !meta.normalizer) {
    throw new CheckpointError(`${metaPath}: missing ${!meta.layout ? 'layout' : !meta.provenance ? 'provenance' : 'normalizer'}`, { hint: 'the checkpoint is incomplete or from an older trainer; re-save it' });
  }
  {
    if (conditionDim(meta.layout) !== spec.condDim || generatorOutputDim(meta.layout) !== spec.outputDim) {
      throw new CheckpointError(`${metaPath}: mlp (condDim ${spec.condDim}, outputDim ${spec.outputDim}) disagrees with the window layout `
        + `(condition ${conditionDim(meta.layout)}, output ${generatorOutputDim(meta.layout)})`, { hint: 'the checkpoint is inconsistent; re-train' });
    }
  }
  return meta;
}

/** weights.bin (EMA weights), checked against checkpoint.json (size, sha256) and for non-finite values. */
export function readCheckpointWeights(dir: string, meta: CheckpointMeta = readCheckpointMeta(dir)): Float32Array {
  const spec = meta.mlp;
  const wPath = join(dir, WEIGHTS_BIN);
  if (!existsSync(wPath)) throw new CheckpointError(`${dir} has no ${WEIGHTS_BIN}`, { hint: 'the checkpoint is incomplete; re-save it from training' });
  const raw = readFileSync(wPath);
  const expect = meta.files?.weights;
  if (expect?.bytes !== undefined && expect.bytes !== raw.length) {
    throw new CheckpointError(`${wPath}: ${raw.length} bytes, checkpoint.json says ${expect.bytes}`, { hint: 'weights.bin is truncated or from another save; re-save the checkpoint' });
  }
  if (expect?.sha256) {
    const got = createHash('sha256').update(raw).digest('hex');
    if (got !== expect.sha256) throw new CheckpointError(`${wPath}: sha256 ${got.slice(0, 12)}… does not match checkpoint.json (${expect.sha256.slice(0, 12)}…)`, { hint: 'weights.bin was modified or is from another save; re-save the checkpoint' });
  }
  const flat = readF32(wPath);
  if (flat.length !== paramCount(spec)) {
    throw new CheckpointError(`${wPath}: ${flat.length} floats, the mlp spec needs ${paramCount(spec)}`, { hint: 'weights.bin does not belong to this checkpoint.json' });
  }
  for (let i = 0; i < flat.length; i++) {
    if (!Number.isFinite(flat[i]!)) throw new CheckpointError(`${wPath}: non-finite weight at index ${i}`, { hint: 'training diverged; export an earlier checkpoint' });
  }
  return flat;
}

export function loadCheckpoint(dir: string): LoadedCheckpoint {
  const meta = readCheckpointMeta(dir);
  const spec = meta.mlp;
  const flat = readCheckpointWeights(dir, meta);
  const weights = unpackWeights(spec, flat);

  let calibrationConditions: Float32Array | null = null;
  const cPath = join(dir, CALIBRATION_BIN);
  if (existsSync(cPath)) {
    calibrationConditions = readF32(cPath);
    if (calibrationConditions.length === 0 || calibrationConditions.length % spec.condDim !== 0) {
      throw new CheckpointError(`${cPath}: ${calibrationConditions.length} floats is not a positive multiple of condDim ${spec.condDim}`, { hint: 'delete it to calibrate on standard-normal conditions, or re-write it from the dataset' });
    }
    for (const v of calibrationConditions) {
      if (!Number.isFinite(v)) throw new CheckpointError(`${cPath}: non-finite value`, { hint: 'delete it or re-write it from the dataset' });
    }
  }
  return { dir, meta, weights, calibrationConditions };
}
