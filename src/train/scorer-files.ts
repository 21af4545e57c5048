/**
 * The files every learned scorer run (`kdp train-scorer`) shares: its own folder (meta JSON + float weights, the
 * meta written last) and, with `--attach`, a TFLite file plus its manifest entry written into the model folder.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CheckpointError, UsageError } from '../errors.js';
import { MANIFEST_FILE, type ModelManifest } from '../planner/manifest.js';
import { readManifestFile, readModelFile } from '../planner/model-file.js';
import { loadDataset } from '../data/load.js';
import type { TrajectoryDataset } from '../data/dataset.js';
import { envInfo } from '../envs/registry.js';
import { writeFilesAtomic } from '../util/atomic-write.js';

export const sha256Hex = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/**
 * A trained scorer's float weights from `dir` (`metaFile` + `weightsFile`), checked against the meta's sha256, and
 * the steps it was trained for; a typed error naming the folder when either is missing or they disagree.
 */
export function loadScorerWeights(dir: string, metaFile: string, weightsFile: string, what: string): { flat: Float32Array; trainingSteps: number | undefined } {
  const metaPath = join(dir, metaFile), wPath = join(dir, weightsFile);
  if (!existsSync(metaPath) || !existsSync(wPath)) throw new CheckpointError(`${dir} holds no trained ${what} (${metaFile} + ${weightsFile})`, { hint: 'train one first: kdp train-scorer --model M --out DIR' });
  const prior = JSON.parse(readFileSync(metaPath, 'utf8')) as { provenance?: { trainingSteps?: number }; weights: { sha256: string } };
  const buf = readFileSync(wPath);
  if (sha256Hex(buf) !== prior.weights.sha256) throw new CheckpointError(`${wPath} does not match ${metaPath}`, { hint: 'retrain the scorer' });
  const flat = new Float32Array(buf.length / 4);
  flat.set(new Float32Array(buf.buffer, buf.byteOffset, flat.length));
  return { flat, trainingSteps: prior.provenance?.trainingSteps };
}

/** Write the float weights, then the meta (which names their sha256), each atomically. */
export function writeScorerFolder(dir: string, metaFile: string, weightsFile: string, weights: Float32Array, meta: Record<string, unknown>): void {
  const wBytes = new Uint8Array(weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength));
  writeFilesAtomic([[join(dir, weightsFile), wBytes], [join(dir, metaFile), JSON.stringify({ ...meta, weights: { sha256: sha256Hex(wBytes), bytes: wBytes.length } }, null, 2) + '\n']]);
}

/**
 * Ship a scorer into a model folder: `fileName` with `bytes`, and the manifest entry `key` = `entry`. The folder's
 * model must verify first; a previous signature is dropped (the manifest changed: re-sign). Returns whether it was.
 */
export function attachToModel(modelDir: string, manifest: ModelManifest, key: string, fileName: string, bytes: Uint8Array, entry: object): { file: string; signatureDropped: boolean } {
  readModelFile(modelDir, manifest.model, 'model'); // the folder must be intact before it gains a file
  const { signature, ...unsigned } = manifest;
  const next = { ...unsigned, [key]: entry } as ModelManifest;
  const dir = resolve(modelDir);
  writeFilesAtomic([[join(dir, fileName), bytes], [join(dir, MANIFEST_FILE), JSON.stringify(next, null, 2) + '\n']]);
  return { file: join(dir, fileName), signatureDropped: signature !== undefined };
}

/** Options of a scorer run over an exported generator (`kdp train-scorer --model M`), for its config and stats types. */
export interface ModelScorerRunOptions<Config, Stats> {
  /** the exported generator (its dataset is used unless `dataset`) */
  model: string;
  out: string;
  dataset?: string;
  config?: Partial<Config>;
  /** write the scorer's TFLite file + its manifest entry into the model folder */
  attach?: boolean;
  /** do not train: load the scorer in `out` (same config), re-measure it and (with `attach`) re-export it */
  calibrateOnly?: boolean;
  command?: string;
  signal?: AbortSignal;
  onStep?: (s: Stats) => void;
}

/** The model folder's manifest (checked to be an `env` model, else a usage error naming `what`) and its dataset. */
export async function openModelScorerRun(o: { model: string; dataset?: string }, env: string, what: string): Promise<{ manifest: ModelManifest; dataset: string; ds: TrajectoryDataset }> {
  const manifest = readManifestFile(o.model);
  if (manifest.env !== env) throw new UsageError(`${o.model} is a ${manifest.env} model; the ${what} is for ${env}`);
  const info = envInfo(env);
  const dataset = o.dataset ?? manifest.provenance.dataset;
  const ds = await loadDataset(dataset, { expect: { stateDim: info.stateDim, actionDim: info.actionDim, goalDim: info.goalDim } });
  return { manifest, dataset, ds };
}

/**
 * Train until `steps` (from a resumed `stepCount`), yielding to the event loop every 50 steps so Ctrl-C is seen;
 * nothing when `calibrateOnly`. Returns the wall time (s, one decimal) and whether it was interrupted.
 */
export async function runScorerSteps<Stats>(trainer: { stepCount: number; step(): Stats }, steps: number, o: { calibrateOnly?: boolean; signal?: AbortSignal; onStep?: (s: Stats) => void }): Promise<{ seconds: number; interrupted: boolean }> {
  const t0 = performance.now();
  let interrupted = false;
  while (!o.calibrateOnly && trainer.stepCount < steps) {
    if (o.signal?.aborted) { interrupted = true; break; }
    o.onStep?.(trainer.step());
    if (trainer.stepCount % 50 === 0) await new Promise((r) => setImmediate(r));
  }
  return { seconds: Math.round((performance.now() - t0) / 100) / 10, interrupted };
}
