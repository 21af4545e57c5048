/**
 * Reading a trainer checkpoint directory, for export and for resuming training (format: checkpoint-format.ts).
 * A run directory holds generations `gen-<step>/` (checkpoint.json, weights.bin, train-state.bin), a
 * top-level checkpoint.json naming the current one, and optionally calibration-conditions.bin (float32
 * LE, rows of condDim normalized conditions). Readers take the newest generation that verifies, so a
 * save cut short by a crash or a full disk falls back to the previous one. A flat directory
 * (checkpoint.json + weights.bin, no generations) is read as one generation.
 * With `kdp train --keep-best`, best.json names the generation with the best held-out score so far;
 * that generation is protected from `--keep` pruning and is what `kdp export --best` reads.
 * Every failure is a CheckpointError that says what to do.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CheckpointError } from '../errors.js';
import type { CheckpointMeta } from './checkpoint-format.js';
import { conditionDim, generatorOutputDim } from './checkpoint-format.js';
import { paramCount, unpackWeights, type MlpWeights } from './mlp-spec.js';
import { checkConvSpec, convDenseSpec, GENERATOR_ARCHS } from './conv-spec.js';
import { checkTransformerSpec, transformerIoSpec, transformerParamCount } from './transformer-spec.js';

export const CHECKPOINT_JSON = 'checkpoint.json';
export const WEIGHTS_BIN = 'weights.bin';
export const CALIBRATION_BIN = 'calibration-conditions.bin';
export const TRAIN_STATE_BIN = 'train-state.bin';
/** pointer to the best-by-eval generation (`kdp train --keep-best`) */
export const BEST_JSON = 'best.json';
const GENERATION_RE = /^gen-(\d{9})$/;

export function generationName(step: number): string {
  return `gen-${String(step).padStart(9, '0')}`;
}

/** Generation folders in `dir`, newest (highest step) first. */
export function listGenerations(dir: string): Array<{ name: string; step: number }> {
  let names: string[];
  try { names = readdirSync(dir); } catch { return []; }
  return names.flatMap((name) => {
    const m = GENERATION_RE.exec(name);
    return m ? [{ name, step: Number(m[1]) }] : [];
  }).sort((a, b) => b.step - a.step);
}

/** A checkpoint generation that verified: `dir` holds its files. */
export interface ResolvedCheckpoint {
  /** the run directory */
  runDir: string;
  /** the folder holding checkpoint.json / weights.bin / train-state.bin of the chosen generation */
  dir: string;
  meta: CheckpointMeta;
  /** generation folder name, or null for a flat (single-generation) directory */
  generation: string | null;
  /** newer generations that were skipped, with the reason */
  skipped: Array<{ generation: string; reason: string }>;
}

/**
 * best.json: which generation scored best in the closed-loop evaluation while training. It is
 * switched by one atomic rename, and only after the generation it names is complete on disk.
 */
export interface BestPointer {
  format: 'kdp-best';
  version: 1;
  /** generation folder name, e.g. gen-000002000 */
  generation: string;
  step: number;
  /** normalized held-out score of that evaluation */
  score: number;
  successRate: number;
  episodes: number;
  /** first evaluation episode seed */
  seed: number;
  select: string;
}

/** best.json of a run, or null when the run has none (or it is not a valid pointer). */
export function readBestPointer(runDir: string): BestPointer | null {
  let v: unknown;
  try { v = JSON.parse(readFileSync(join(runDir, BEST_JSON), 'utf8')); } catch { return null; }
  const b = v as Partial<BestPointer> | null;
  if (!b || b.format !== 'kdp-best' || typeof b.generation !== 'string' || !GENERATION_RE.test(b.generation)
    || !Number.isInteger(b.step) || typeof b.score !== 'number' || !Number.isFinite(b.score)) return null;
  return b as BestPointer;
}

/** The generation best.json names, verified like any generation; a typed error if there is none or it is damaged. */
export function resolveBestCheckpoint(runDir: string): ResolvedCheckpoint & { best: BestPointer } {
  if (!existsSync(runDir) || !statSync(runDir).isDirectory()) {
    throw new CheckpointError(`no checkpoint directory at ${runDir}`, { hint: 'pass --checkpoint <dir> pointing at a training run made by `kdp train`' });
  }
  const best = readBestPointer(runDir);
  if (!best) {
    throw new CheckpointError(`${runDir} has no best-by-eval generation (no valid ${BEST_JSON})`,
      { hint: 'train with `kdp train --eval-every N --keep-best` to keep one, or export the newest generation without --best' });
  }
  const dir = join(runDir, best.generation);
  try {
    const meta = readMetaFile(dir);
    verifyFile(dir, WEIGHTS_BIN, meta.files?.weights);
    verifyFile(dir, TRAIN_STATE_BIN, meta.files?.trainState);
    return { runDir, dir, meta, generation: best.generation, skipped: [], best };
  } catch (e) {
    throw new CheckpointError(`${runDir}: the best generation ${best.generation} (step ${best.step}) does not verify: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`,
      { hint: 'export the newest generation without --best, or retrain with --keep-best' });
  }
}

export function hasCheckpoint(dir: string): boolean {
  return existsSync(join(dir, CHECKPOINT_JSON)) || listGenerations(dir).length > 0;
}

/** sha256 and size of a file against what checkpoint.json records. */
function verifyFile(dir: string, file: string, expect: { sha256: string; bytes: number } | undefined): void {
  if (!expect) return;
  const p = join(dir, file);
  if (!existsSync(p)) throw new CheckpointError(`${p} is missing`, { hint: 'the checkpoint is incomplete' });
  const buf = readFileSync(p);
  if (buf.length !== expect.bytes || createHash('sha256').update(buf).digest('hex') !== expect.sha256) {
    throw new CheckpointError(`${p} does not match checkpoint.json (size or sha256 differs)`, { hint: 'the file was modified or truncated' });
  }
}

/**
 * The newest generation of `runDir` whose checkpoint.json validates and whose binaries match their
 * recorded sha256. Falls back generation by generation; throws only when none verifies.
 */
export function resolveCheckpoint(runDir: string): ResolvedCheckpoint {
  if (!existsSync(runDir) || !statSync(runDir).isDirectory()) {
    throw new CheckpointError(`no checkpoint directory at ${runDir}`,
      { hint: 'pass --checkpoint <dir> pointing at a training run (it contains checkpoint.json and weights.bin); create one with `kdp train`' });
  }
  const skipped: Array<{ generation: string; reason: string }> = [];
  for (const g of listGenerations(runDir)) {
    const dir = join(runDir, g.name);
    try {
      const meta = readMetaFile(dir);
      verifyFile(dir, WEIGHTS_BIN, meta.files?.weights);
      verifyFile(dir, TRAIN_STATE_BIN, meta.files?.trainState);
      return { runDir, dir, meta, generation: g.name, skipped };
    } catch (e) {
      skipped.push({ generation: g.name, reason: e instanceof Error ? e.message.split('\n')[0]! : String(e) });
    }
  }
  if (skipped.length === 0) {
    // a flat directory written before generations existed (or by a fixture)
    const meta = readMetaFile(runDir);
    return { runDir, dir: runDir, meta, generation: null, skipped };
  }
  throw new CheckpointError(`${runDir}: no checkpoint generation verifies (${skipped.map((s) => `${s.generation}: ${s.reason}`).join('; ')})`,
    { hint: 'every saved generation is damaged: restore the run directory from a backup or retrain with --fresh' });
}

export interface LoadedCheckpoint {
  dir: string;
  meta: CheckpointMeta;
  /** the MLP's layers (arch mlp, conv); for arch transformer only `spec` (its I/O) and no layers */
  weights: MlpWeights;
  /** weights.bin as one flat vector (a transformer's parameters, transformerLayout order) */
  flat: Float32Array;
  /** rows of condDim normalized conditions, or null if the trainer did not write them */
  calibrationConditions: Float32Array | null;
  /** the generation folder the weights came from (null: flat directory) */
  generation: string | null;
  /** newer generations that did not verify */
  skipped: Array<{ generation: string; reason: string }>;
  /** present when this generation is the run's best-by-eval one (best.json names it) */
  best?: BestPointer;
}

function readF32(path: string): Float32Array {
  const buf = readFileSync(path);
  if (buf.length % 4 !== 0) throw new CheckpointError(`${path}: ${buf.length} bytes is not a whole number of float32`, { hint: 'the file is truncated; re-run training or re-save the checkpoint' });
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length);
  return new Float32Array(ab);
}

/** checkpoint.json of the newest generation that verifies (see resolveCheckpoint). */
export function readCheckpointMeta(dir: string): CheckpointMeta {
  return resolveCheckpoint(dir).meta;
}

/** One checkpoint.json, validated (format, network spec, layout consistency). */
function readMetaFile(dir: string): CheckpointMeta {
  const metaPath = join(dir, CHECKPOINT_JSON);
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
  if (meta === null || typeof meta !== 'object') throw new CheckpointError(`${metaPath} is not a JSON object`, { hint: 'the checkpoint is corrupt; re-save it from training' });
  if (meta?.format !== 'kdp-checkpoint' || meta.version !== 1) {
    throw new CheckpointError(`${metaPath}: not a kdp checkpoint v1 (format ${String(meta?.format)}, version ${String(meta?.version)})`,
      { hint: 'export needs a checkpoint written by `kdp train`' });
  }
  const spec = meta.mlp;
  if (!spec || !Array.isArray(spec.hidden) || ![spec.noiseDim, spec.condDim, spec.outputDim, ...spec.hidden].every((d) => Number.isInteger(d) && d > 0)
    || !['relu', 'silu', 'tanh'].includes(spec.activation)) {
    throw new CheckpointError(`${metaPath}: invalid mlp spec ${JSON.stringify(spec)}`, { hint: 'the checkpoint is corrupt or from an incompatible trainer' });
  }
  checkArch(meta, metaPath);
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

/** An optional `arch` (older checkpoints have none: mlp); a conv's shape must expand to the recorded dense spec. */
function checkArch(meta: CheckpointMeta, metaPath: string): void {
  const arch = meta.arch ?? 'mlp';
  if (!GENERATOR_ARCHS.includes(arch)) {
    throw new CheckpointError(`${metaPath}: unknown generator arch ${JSON.stringify(arch)} (this version knows ${GENERATOR_ARCHS.join(', ')})`, { hint: 'the checkpoint is corrupt or from a newer trainer: export it with the version that trained it' });
  }
  if (arch === 'transformer') {
    const s = meta.transformer;
    try {
      if (!s || typeof s !== 'object') throw new RangeError('arch transformer without a transformer shape');
      checkTransformerSpec(s);
      if (JSON.stringify(transformerIoSpec(s)) !== JSON.stringify(meta.mlp)) throw new RangeError(`transformer ${JSON.stringify(s)} does not have the recorded I/O ${JSON.stringify(meta.mlp)}`);
    } catch (e) {
      throw new CheckpointError(`${metaPath}: invalid transformer generator: ${(e as Error).message}`, { hint: 'the checkpoint is corrupt or from an incompatible trainer; re-train' });
    }
    return;
  }
  if (arch !== 'conv') return;
  const c = meta.conv;
  try {
    if (!c || typeof c !== 'object') throw new RangeError('arch conv without a conv shape');
    checkConvSpec(c);
    if (JSON.stringify(convDenseSpec(c)) !== JSON.stringify(meta.mlp)) throw new RangeError(`conv ${JSON.stringify(c)} does not expand to the recorded mlp ${JSON.stringify(meta.mlp)}`);
  } catch (e) {
    throw new CheckpointError(`${metaPath}: invalid conv generator: ${(e as Error).message}`, { hint: 'the checkpoint is corrupt or from an incompatible trainer; re-train' });
  }
}

/** weights.bin (EMA weights), checked against checkpoint.json (size, sha256) and for non-finite values. */
export function readCheckpointWeights(dir: string, meta: CheckpointMeta = readMetaFile(dir)): Float32Array {
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
  const need = meta.arch === 'transformer' && meta.transformer ? transformerParamCount(meta.transformer) : paramCount(spec);
  if (flat.length !== need) {
    throw new CheckpointError(`${wPath}: ${flat.length} floats, the ${meta.arch === 'transformer' ? 'transformer' : 'mlp spec'} needs ${need}`, { hint: 'weights.bin does not belong to this checkpoint.json' });
  }
  for (let i = 0; i < flat.length; i++) {
    if (!Number.isFinite(flat[i]!)) throw new CheckpointError(`${wPath}: non-finite weight at index ${i}`, { hint: 'training diverged; export an earlier checkpoint' });
  }
  return flat;
}

/** The newest generation that verifies, or with `best` the one best.json names (resolveBestCheckpoint). */
export function loadCheckpoint(dir: string, opts: { best?: boolean } = {}): LoadedCheckpoint {
  const resolved = opts.best ? resolveBestCheckpoint(dir) : resolveCheckpoint(dir);
  const meta = resolved.meta;
  const spec = meta.mlp;
  const flat = readCheckpointWeights(resolved.dir, meta);
  // a transformer's flat parameters are not an MLP's: `weights` then carries only its I/O spec, `flat` the parameters
  const weights = meta.arch === 'transformer' ? { spec, layers: [] } : unpackWeights(spec, flat);

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
  const best = readBestPointer(dir);
  return { dir, meta, weights, flat, calibrationConditions, generation: resolved.generation, skipped: resolved.skipped,
    ...(best && best.generation === resolved.generation ? { best } : {}) };
}
