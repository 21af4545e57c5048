import { transformerParamCount } from '../model/transformer-spec.js';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { CheckpointError, toIoError } from '../errors.js';
import type { CheckpointMeta } from '../model/checkpoint-format.js';
import { paramCount } from '../model/mlp-spec.js';
import { ensureDir, fsyncDir, writeFileAtomic, writeJsonAtomic, writeSynced } from '../util/atomic-write.js';
import {
  BEST_JSON, CALIBRATION_BIN, CHECKPOINT_JSON, generationName, readBestPointer, type BestPointer, hasCheckpoint, listGenerations, readCheckpointWeights, TRAIN_STATE_BIN, WEIGHTS_BIN,
} from '../model/checkpoint-io.js';
import type { KdpTrainer } from './kdp-trainer.js';

export const TRAIN_STATE_FILE = TRAIN_STATE_BIN;
/** generations kept by default (`kdp train --keep`) */
export const DEFAULT_KEEP_GENERATIONS = 3;

interface TrainStateHeader { optimizerStep: number; rng: number[]; trainerStep: number }

function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

function bytesOf(a: Float32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

export interface SaveOptions {
  /** complete generations to keep (default 3, at least 1) */
  keep?: number;
}

/**
 * Save a checkpoint as a new generation: all three files go into a staging folder, are fsynced, and
 * the folder is renamed to `gen-<step>`; only then does the top-level checkpoint.json (a copy of the
 * generation's, plus its name) switch to it by rename. A crash or a full disk at any moment leaves
 * the previous generations intact, and readers take the newest one that verifies. Older generations
 * beyond `keep` are removed last. File-system failures are an IoError naming the folder.
 */
export function saveCheckpoint(dir: string, trainer: KdpTrainer, meta: Omit<CheckpointMeta, 'files' | 'step' | 'createdAt' | 'format' | 'version' | 'mlp' | 'arch' | 'conv' | 'transformer'>,
  opts: SaveOptions = {}): CheckpointMeta {
  const net = trainer.net;
  for (const [name, a] of [['EMA weights', net.ema], ['weights', net.params]] as const) {
    for (let i = 0; i < a.length; i++) {
      if (!Number.isFinite(a[i]!)) throw new CheckpointError(`refusing to save a checkpoint with non-finite ${name} (index ${i}) at step ${trainer.stepCount}`, { hint: 'training diverged; the previous generation is kept: lower --lr or check the dataset' });
    }
  }
  const weights = bytesOf(net.ema);
  const stateBytes = bytesOf(net.packTrainState());
  const header: TrainStateHeader = { optimizerStep: net.stepCount, rng: trainer.rng.state(), trainerStep: trainer.stepCount };
  const full: CheckpointMeta = {
    format: 'kdp-checkpoint', version: 1, step: trainer.stepCount, createdAt: new Date().toISOString(), mlp: trainer.spec,
    arch: trainer.convSpec ? 'conv' : trainer.transformerSpec ? 'transformer' : 'mlp', ...(trainer.convSpec ? { conv: trainer.convSpec } : {}),
    ...(trainer.transformerSpec ? { transformer: trainer.transformerSpec } : {}),
    ...meta,
    config: { ...meta.config, trainState: header },
    files: { weights: { sha256: sha256(weights), bytes: weights.length }, trainState: { sha256: sha256(stateBytes), bytes: stateBytes.length } },
  };
  const gen = generationName(trainer.stepCount);
  const staging = join(dir, `.${gen}.${process.pid}.tmp`);
  const final = join(dir, gen);
  try {
    ensureDir(dir);
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(staging);
    writeSynced(join(staging, WEIGHTS_BIN), weights);
    writeSynced(join(staging, TRAIN_STATE_BIN), stateBytes);
    writeSynced(join(staging, CHECKPOINT_JSON), Buffer.from(JSON.stringify(full, null, 2) + '\n', 'utf8'));
    fsyncDir(staging);
    rmSync(final, { recursive: true, force: true });
    renameSync(staging, final);
    fsyncDir(dir);
  } catch (e) {
    try { rmSync(staging, { recursive: true, force: true }); } catch { /* best effort */ }
    throw toIoError(e, `could not save checkpoint step ${trainer.stepCount} in ${dir} (the previous generation is kept)`, dir);
  }
  try {
    writeJsonAtomic(join(dir, CHECKPOINT_JSON), { ...full, generation: gen });
  } catch (e) {
    throw toIoError(e, `saved ${final} but could not switch ${join(dir, CHECKPOINT_JSON)} to it (readers still find it)`, dir);
  }
  pruneGenerations(dir, trainer.stepCount, Math.max(1, opts.keep ?? DEFAULT_KEEP_GENERATIONS));
  return full;
}

/**
 * Point best.json at generation `best.generation` (`kdp train --keep-best`). The caller saved that
 * generation first, so the pointer never names a folder that is not complete on disk; the switch is
 * one atomic rename. The previous best generation is pruned only afterwards (if `--keep` drops it).
 */
export function saveBestPointer(dir: string, best: Omit<BestPointer, 'format' | 'version'>, opts: SaveOptions = {}): BestPointer {
  const full: BestPointer = { format: 'kdp-best', version: 1, ...best };
  try {
    writeJsonAtomic(join(dir, BEST_JSON), full);
  } catch (e) {
    throw toIoError(e, `could not write ${join(dir, BEST_JSON)} (the previous best generation is kept)`, dir);
  }
  // relative to the newest generation: moving the pointer must never drop a newer one
  pruneGenerations(dir, Math.max(best.step, listGenerations(dir)[0]?.step ?? 0), Math.max(1, opts.keep ?? DEFAULT_KEEP_GENERATIONS));
  return full;
}

/** Forget best.json (a resumed lineage that no longer contains the generation it names). */
export function clearBestPointer(dir: string): void {
  try { rmSync(join(dir, BEST_JSON), { force: true }); } catch (e) { throw toIoError(e, `could not remove ${join(dir, BEST_JSON)}`, dir); }
}

/**
 * Remove generations beyond the newest `keep` at or below `step`, any above it (a lineage this run
 * replaced), staging folders of dead saves and the flat files of a pre-generation run. The generation
 * best.json names (at or below `step`) is kept on top of `keep`.
 */
function pruneGenerations(dir: string, step: number, keep: number): void {
  let kept = 0;
  const best = readBestPointer(dir);
  for (const g of listGenerations(dir)) {
    if (g.step <= step && kept < keep) { kept++; continue; }
    if (best && g.name === best.generation && g.step <= step) continue;
    rmSync(join(dir, g.name), { recursive: true, force: true });
  }
  for (const name of readdirSync(dir)) {
    if (/^\.gen-\d{9}\.\d+\.tmp$/.test(name) && name !== `.${generationName(step)}.${process.pid}.tmp`) rmSync(join(dir, name), { recursive: true, force: true });
  }
  for (const flat of [WEIGHTS_BIN, TRAIN_STATE_BIN]) rmSync(join(dir, flat), { force: true });
}

/** Forget every checkpoint in `dir` (for --fresh): generations, pointers, flat files. */
export function clearCheckpoints(dir: string): void {
  try {
    rmSync(join(dir, BEST_JSON), { force: true }); // first: it must never name a generation that is gone
    for (const g of listGenerations(dir)) rmSync(join(dir, g.name), { recursive: true, force: true });
    for (const f of [CHECKPOINT_JSON, WEIGHTS_BIN, TRAIN_STATE_BIN]) rmSync(join(dir, f), { force: true });
  } catch (e) {
    throw toIoError(e, `could not clear the old checkpoints in ${dir}`, dir);
  }
}

export function checkpointExists(dir: string): boolean {
  return hasCheckpoint(dir);
}

function readVerified(dir: string, file: string, expect: { sha256: string; bytes: number }, floats: number): Float32Array {
  const p = join(dir, file);
  let buf: Buffer;
  try {
    buf = readFileSync(p);
  } catch {
    throw new CheckpointError(`${p} is missing`, { hint: 'the checkpoint is incomplete: retrain or resume from an intact copy' });
  }
  if (buf.length !== expect.bytes || sha256(buf) !== expect.sha256) {
    throw new CheckpointError(`${p} does not match checkpoint.json (size or sha256 differs)`, { hint: 'the file was modified or truncated: retrain, or restore the run directory' });
  }
  if (buf.length !== floats * 4) throw new CheckpointError(`${p}: ${buf.length} bytes, the network needs ${floats * 4}`);
  const out = new Float32Array(floats);
  out.set(new Float32Array(buf.buffer, buf.byteOffset, floats));
  return out;
}

/**
 * Restore the full training state (raw weights, Adam moments, RNG, step) into a fresh trainer from a
 * generation folder (`resolveCheckpoint(run).dir`) and its checkpoint.json.
 */
export function restoreTrainer(dir: string, trainer: KdpTrainer, meta: CheckpointMeta): void {
  const n = trainer.net.params.length;
  const saved = meta.arch === 'transformer' && meta.transformer ? transformerParamCount(meta.transformer) : paramCount(meta.mlp);
  if (saved !== n) throw new CheckpointError(`checkpoint network has ${saved} parameters, the configured one has ${n}`, { hint: 'use the same --horizon/--hidden as the run you resume, or start fresh with --fresh' });
  if (!meta.files.trainState) throw new CheckpointError('checkpoint has no training state to resume from');
  const ema = readCheckpointWeights(dir, meta);
  const state = readVerified(dir, TRAIN_STATE_FILE, meta.files.trainState, trainer.net.trainStateFloats);
  const header = (meta.config as { trainState?: TrainStateHeader }).trainState;
  if (!header) throw new CheckpointError('checkpoint.json has no trainState header');
  trainer.net.restoreTrainState(state, ema, header.optimizerStep);
  trainer.rng.restore(header.rng);
  trainer.stepCount = header.trainerStep;
}

export function writeCalibration(dir: string, conditions: Float32Array): void {
  try {
    writeFileAtomic(join(dir, CALIBRATION_BIN), bytesOf(conditions));
  } catch (e) {
    throw toIoError(e, `could not write ${CALIBRATION_BIN} into the run folder ${dir}`, dir);
  }
}
