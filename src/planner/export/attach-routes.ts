/**
 * `attachRoutes`: ship a sparse route generator beside an exported model (hierarchical keyed drifting,
 * control/subgoal-stage.ts). The route network is a `kdp train` run with a coarse frame skip (or a model
 * folder already exported from one); it must plan for the same env, dims and candidates. model.tflite and
 * scorer.tflite stay byte for byte; routes.tflite first, manifest.json last, each atomic.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ModelError } from '../../errors.js';
import { MANIFEST_FILE, ROUTES_FILE, type ModelManifest, type RoutesManifest } from '../manifest.js';
import { readManifestFile, readModelFile } from '../model-file.js';
import { exportCheckpoint, writeBothAtomic } from './export-checkpoint.js';
import type { WeightBits } from './quant.js';

export interface AttachRoutesOptions {
  /** an exported model folder with its learned scorer */
  model: string;
  /** a `kdp train` run (exported here like the model's generator) or an exported model folder */
  routes: string;
  /** env steps ahead on the chosen route that the segment plans are selected toward */
  lookahead: number;
  /** what the segment generator is conditioned on (default: the goal) */
  conditionOn?: 'goal' | 'subgoal';
  /** segment waypoints selected toward the subgoal, the rest toward the goal (default: all) */
  subgoalSteps?: number;
  /** a run: export its best-by-eval generation */
  best?: boolean;
  /** a run: precision and weight bits (default: those of the model's generator) */
  quantization?: 'int8' | 'fp32';
  weightBits?: WeightBits;
  /** where to write (default: the model folder itself; else every file is copied there) */
  out?: string;
}

export function attachRoutes(o: AttachRoutesOptions): { out: string; manifest: ModelManifest; dropped: { signature: boolean } } {
  const manifest = readManifestFile(o.model);
  const modelBytes = readModelFile(o.model, manifest.model, 'model');
  const scorerBytes = manifest.scorer ? readModelFile(o.model, manifest.scorer, 'scorer') : undefined;
  if (!manifest.scorer || !scorerBytes) {
    throw new ModelError('E_MODEL_MISMATCH', `${o.model} ships no learned scorer, which is what picks the routes`, { hint: 'attach one first: kdp export --model DIR --scorer RUN' });
  }
  if (o.subgoalSteps !== undefined && !(Number.isInteger(o.subgoalSteps) && o.subgoalSteps >= 1 && o.subgoalSteps < manifest.layout.horizon)) {
    throw new ModelError('E_MODEL_MISMATCH', `route subgoal steps must be 1…${manifest.layout.horizon - 1} (the model's plan waypoints), got ${o.subgoalSteps}`);
  }
  if (!(Number.isInteger(o.lookahead) && o.lookahead >= 1)) throw new ModelError('E_MODEL_MISMATCH', `route lookahead must be a whole number of env steps ≥ 1, got ${o.lookahead}`);
  const { manifest: rm, bytes } = readRouteNetwork(o, manifest);
  const L = manifest.layout, R = rm.layout;
  const problems: string[] = [];
  if (rm.env !== manifest.env) problems.push(`it plans for ${rm.env}, the model for ${manifest.env}`);
  if (R.stateDim !== L.stateDim || R.actionDim !== L.actionDim || R.goalDim !== L.goalDim) problems.push(`its dims ${R.stateDim}/${R.actionDim}/${R.goalDim} ≠ the model's ${L.stateDim}/${L.actionDim}/${L.goalDim} (state/action/goal)`);
  if (rm.candidates !== manifest.candidates) problems.push(`it is exported for ${rm.candidates} candidates, the model for ${manifest.candidates}`);
  // the shared scorer reads route waypoints and goals in the route network's normalization: it must be the model's
  const same = (a: number[], b: number[]): boolean => a.length === b.length && a.every((v, i) => Math.abs(v - b[i]!) <= 1e-6 * Math.max(1, Math.abs(v)));
  const n = manifest.normalizer, rn = rm.normalizer;
  if (!same(n.state.shift, rn.state.shift) || !same(n.state.scale, rn.state.scale) || !same(n.goal.shift, rn.goal.shift) || !same(n.goal.scale, rn.goal.scale)) {
    problems.push('its normalizer differs from the model\'s (the learned scorer reads both in one normalization): train it with --normalizer-from <this model>');
  }
  const span = (R.horizon - 1) * R.frameSkip;
  if (o.lookahead > span) problems.push(`lookahead ${o.lookahead} env steps is past its window (${R.horizon} steps × frame skip ${R.frameSkip} = ${span})`);
  if (problems.length) throw new ModelError('E_MODEL_MISMATCH', `${o.routes} cannot be this model's route generator: ${problems.join('; ')}`, { hint: 'train the route network on the same dataset with a coarse --frame-skip, and export with the model\'s --candidates' });
  const entry: RoutesManifest = {
    file: ROUTES_FILE, sha256: rm.model.sha256, bytes: rm.model.bytes, quantization: rm.model.quantization, ...(rm.model.weightBits ? { weightBits: rm.model.weightBits } : {}),
    inputs: rm.inputs, outputs: rm.outputs, noiseDim: rm.noiseDim, layout: R, normalizer: rm.normalizer, lookahead: o.lookahead,
    conditionOn: o.conditionOn ?? 'goal', ...(o.subgoalSteps === undefined ? {} : { subgoalSteps: o.subgoalSteps }), arenaBytes: rm.arenaBytes, ...(rm.mlp ? { mlp: rm.mlp } : {}),
    provenance: {
      checkpoint: String(rm.provenance.checkpoint ?? o.routes), trainingSteps: Number(rm.provenance.trainingSteps ?? 0), seed: Number(rm.provenance.seed ?? 0),
      ...(rm.provenance.generation ? { generation: String(rm.provenance.generation) } : {}),
      ...(typeof rm.provenance.trainCommand === 'string' ? { trainCommand: rm.provenance.trainCommand } : {}),
    },
  };
  const { signature, ...unsigned } = manifest;
  const next: ModelManifest = { ...unsigned, routes: entry };
  const out = resolve(o.out ?? o.model);
  const files: Array<[string, Uint8Array | string]> = [[join(out, ROUTES_FILE), bytes]];
  if (resolve(o.model) !== out) files.push([join(out, manifest.model.file), new Uint8Array(modelBytes)], [join(out, manifest.scorer.file), new Uint8Array(scorerBytes)]);
  files.push([join(out, MANIFEST_FILE), JSON.stringify(next, null, 2) + '\n']);
  writeBothAtomic(out, files);
  return { out, manifest: next, dropped: { signature: signature !== undefined } };
}

/** The route network's manifest and bytes: read from an exported folder, or exported from a run into a temp folder. */
function readRouteNetwork(o: AttachRoutesOptions, target: ModelManifest): { manifest: ModelManifest; bytes: Uint8Array } {
  if (existsSync(join(o.routes, MANIFEST_FILE))) {
    if (o.best) throw new ModelError('E_MODEL_MISMATCH', '--best chooses a generation of a training run; the route folder given is already exported', { hint: 'pass the run folder, or drop --best' });
    const m = readManifestFile(o.routes);
    return { manifest: m, bytes: readModelFile(o.routes, m.model, 'model') };
  }
  const tmp = mkdtempSync(join(tmpdir(), 'kdp-routes-'));
  try {
    const quantization = o.quantization ?? target.model.quantization;
    const weightBits = (o.weightBits ?? (quantization === 'int8' ? target.model.weightBits ?? 8 : 8)) as WeightBits;
    const r = exportCheckpoint({ checkpoint: o.routes, out: join(tmp, 'routes'), quantization, weightBits, candidates: target.candidates, ...(o.best ? { best: true } : {}) });
    return { manifest: r.manifest, bytes: readModelFile(r.out, r.manifest.model, 'model') };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
