import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CheckpointError } from '../errors.js';
import type { CheckpointMeta } from '../model/checkpoint-format.js';
import { paramCount } from '../model/mlp-spec.js';
import { writeFileAtomic, writeJsonAtomic } from '../util/atomic-write.js';
import { CALIBRATION_BIN, CHECKPOINT_JSON, readCheckpointMeta, readCheckpointWeights, WEIGHTS_BIN } from '../model/checkpoint-io.js';
import type { KdpTrainer } from './kdp-trainer.js';

export const TRAIN_STATE_FILE = 'train-state.bin';

interface TrainStateHeader { optimizerStep: number; rng: number[]; trainerStep: number }

function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

function bytesOf(a: Float32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/**
 * Save a checkpoint: binaries first (each atomic), checkpoint.json last, recording their sha256 —
 * so a present checkpoint.json always describes complete files, whatever moment a crash hits.
 */
export function saveCheckpoint(dir: string, trainer: KdpTrainer, meta: Omit<CheckpointMeta, 'files' | 'step' | 'createdAt' | 'format' | 'version' | 'mlp'>): CheckpointMeta {
  const net = trainer.net;
  const weights = bytesOf(net.ema);
  const n = net.params.length;
  const state = new Float32Array(3 * n);
  state.set(net.params, 0); state.set(net.m, n); state.set(net.v, 2 * n);
  const stateBytes = bytesOf(state);
  writeFileAtomic(join(dir, WEIGHTS_BIN), weights);
  writeFileAtomic(join(dir, TRAIN_STATE_FILE), stateBytes);
  const header: TrainStateHeader = { optimizerStep: net.stepCount, rng: trainer.rng.state(), trainerStep: trainer.stepCount };
  const full: CheckpointMeta = {
    format: 'kdp-checkpoint', version: 1, step: trainer.stepCount, createdAt: new Date().toISOString(), mlp: trainer.spec,
    ...meta,
    config: { ...meta.config, trainState: header },
    files: { weights: { sha256: sha256(weights), bytes: weights.length }, trainState: { sha256: sha256(stateBytes), bytes: stateBytes.length } },
  };
  writeJsonAtomic(join(dir, CHECKPOINT_JSON), full);
  return full;
}

export function checkpointExists(dir: string): boolean {
  return existsSync(join(dir, CHECKPOINT_JSON));
}

function readVerified(dir: string, file: string, expect: { sha256: string; bytes: number }, floats: number): Float32Array {
  const p = join(dir, file);
  if (!existsSync(p)) throw new CheckpointError(`${p} is missing`, { hint: 'the checkpoint is incomplete: retrain or resume from an intact copy' });
  const buf = readFileSync(p);
  if (buf.length !== expect.bytes || sha256(buf) !== expect.sha256) {
    throw new CheckpointError(`${p} does not match checkpoint.json (size or sha256 differs)`, { hint: 'the file was modified or truncated: retrain, or restore the run directory' });
  }
  if (buf.length !== floats * 4) throw new CheckpointError(`${p}: ${buf.length} bytes, the network needs ${floats * 4}`);
  const out = new Float32Array(floats);
  out.set(new Float32Array(buf.buffer, buf.byteOffset, floats));
  return out;
}

/** Restore the full training state (raw weights, Adam moments, RNG, step) into a fresh trainer. */
export function restoreTrainer(dir: string, trainer: KdpTrainer, meta = readCheckpointMeta(dir)): void {
  const n = trainer.net.params.length;
  if (paramCount(meta.mlp) !== n) throw new CheckpointError(`checkpoint network has ${paramCount(meta.mlp)} parameters, the configured one has ${n}`, { hint: 'use the same --horizon/--hidden as the run you resume, or start fresh with --fresh' });
  if (!meta.files.trainState) throw new CheckpointError('checkpoint has no training state to resume from');
  const ema = readCheckpointWeights(dir, meta);
  const state = readVerified(dir, TRAIN_STATE_FILE, meta.files.trainState, 3 * n);
  const header = (meta.config as { trainState?: TrainStateHeader }).trainState;
  if (!header) throw new CheckpointError('checkpoint.json has no trainState header');
  const net = trainer.net;
  net.params.set(state.subarray(0, n)); net.m.set(state.subarray(n, 2 * n)); net.v.set(state.subarray(2 * n));
  net.ema.set(ema);
  net.importState({ t: header.optimizerStep });
  trainer.rng.restore(header.rng);
  trainer.stepCount = header.trainerStep;
}

export function writeCalibration(dir: string, conditions: Float32Array): void {
  writeFileAtomic(join(dir, CALIBRATION_BIN), bytesOf(conditions));
}
