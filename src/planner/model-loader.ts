/**
 * The one model loader: a model folder (`loadModelDir`, for eval/demo/fly/arm) or `--model` as given to
 * infer/bench (`loadModelPath`: a folder, or a bare .tflite without a manifest), each returning a
 * `LoadedModel`; plus the interpreter-backed planner and scorer the loops run, and the manifest/env
 * check. Files a manifest names are opened through readModelFile (model-file.ts). The only imports
 * from the control layer are the two backend seam types it fills.
 */
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ModelError } from '../errors.js';
import type { PlannerBackend } from './planner-backend.js';
import type { ScorerBackend } from './scorer-backend.js';
import { checkContainedFile, readRegularFile, SafeReadError } from '../util/safe-read.js';
import { MANIFEST_FILE, MODEL_FILE, type ModelManifest } from './manifest.js';
import { MAX_MODEL_FILE_BYTES } from './manifest-schema.js';
import { readManifestFile, readModelFile } from './model-file.js';
import { Interpreter, type Backend } from './runtime/interpreter.js';

/** A loaded model: a folder's manifest and files, or (manifest null) a bare .tflite. */
export interface LoadedModel<M extends ModelManifest | null = ModelManifest> {
  /** the model folder (for a bare .tflite: the folder it sits in) */
  dir: string;
  /** path of the .tflite read (set by the loaders here; a model assembled in memory has none) */
  tflitePath?: string;
  manifest: M;
  bytes: Uint8Array;
  /** the scorer network's bytes when the manifest names one (checked like the model's) */
  scorerBytes?: Uint8Array;
  /** hierarchical models: the sparse route generator as a model of its own (its layout, sharing the scorer) */
  routes?: LoadedModel;
}

/**
 * The route generator of a hierarchical manifest as a LoadedModel: the model's manifest with the
 * route network's file, I/O, layout and normalizer (the learned scorer is shared).
 */
export function routesModel(parent: LoadedModel, routeBytes: Uint8Array): LoadedModel {
  const r = parent.manifest.routes!;
  const { routes: _routes, signature: _sig, ...rest } = parent.manifest;
  const manifest: ModelManifest = {
    ...rest, model: { file: r.file, sha256: r.sha256, bytes: r.bytes, quantization: r.quantization, ...(r.weightBits ? { weightBits: r.weightBits } : {}) },
    inputs: r.inputs, outputs: r.outputs, noiseDim: r.noiseDim, layout: r.layout, normalizer: r.normalizer, arenaBytes: r.arenaBytes,
  };
  return { dir: parent.dir, tflitePath: join(parent.dir, r.file), manifest, bytes: routeBytes, ...(parent.scorerBytes ? { scorerBytes: parent.scorerBytes } : {}) };
}

/**
 * Read models/<name>/{manifest.json, model.tflite}: the manifest against its schema, every file it
 * names through readModelFile (inside the folder, regular file, size cap, sha256).
 */
export function loadModelDir(dir: string): LoadedModel {
  const manifest = readManifestFile(dir);
  const bytes = readModelFile(dir, manifest.model, 'model');
  const out: LoadedModel = { dir, tflitePath: join(dir, manifest.model.file), manifest, bytes };
  if (manifest.scorer) out.scorerBytes = readModelFile(dir, manifest.scorer, 'scorer');
  if (manifest.routes) out.routes = routesModel(out, readModelFile(dir, manifest.routes, 'routes'));
  return out;
}

/**
 * Resolve `--model`: a model folder (loadModelDir's checks), a folder with only a model.tflite, or a
 * bare .tflite path. Without a manifest the file must be a regular file under the size cap.
 */
export function loadModelPath(path: string): LoadedModel<ModelManifest | null> & { tflitePath: string } {
  if (!existsSync(path)) throw new ModelError('E_MODEL_IO', `model not found: ${path}`, { hint: 'pass a model directory (model.tflite + manifest.json) or a .tflite file' });
  if (statSync(path).isDirectory()) {
    if (existsSync(join(path, MANIFEST_FILE))) {
      const m = loadModelDir(path);
      return { ...m, tflitePath: join(path, m.manifest.model.file) };
    }
    // a folder with just a model.tflite: the bare-file rules, inside the folder
    try {
      const c = checkContainedFile(path, MODEL_FILE, { maxBytes: MAX_MODEL_FILE_BYTES, plainName: true });
      return { dir: path, tflitePath: c.path, manifest: null, bytes: readRegularFile(c.real, MAX_MODEL_FILE_BYTES) };
    } catch (e) {
      if (e instanceof SafeReadError) throw new ModelError('E_MODEL_IO', `${path} has no manifest.json and no usable model.tflite (${e.message})`, { hint: 'export one with `kdp export`' });
      throw e;
    }
  }
  try {
    return { dir: dirname(path), tflitePath: path, manifest: null, bytes: readRegularFile(path, MAX_MODEL_FILE_BYTES) };
  } catch (e) {
    if (e instanceof SafeReadError) throw new ModelError(e.problem === 'not-regular' ? 'E_MODEL_SCHEMA' : 'E_MODEL_IO', e.message, { hint: 'pass a .tflite file or a model directory' });
    throw e;
  }
}

/** The fixed-arena TFLite interpreter as the loop's planner, with N candidates per invoke. */
export function createTflitePlanner(model: LoadedModel, candidates: number, backend?: Backend): PlannerBackend & { interpreter: Interpreter } {
  // no backend: the interpreter picks (KDP_KERNELS, else native where it runs here, else wasm)
  const interp = Interpreter.fromBytes(model.bytes, { batch: candidates, ...(backend ? { backend } : {}) }).allocate();
  const names = model.manifest.inputs.map((t) => t.name);
  const noiseIdx = names.indexOf('noise');
  const condIdx = names.indexOf('condition');
  if (noiseIdx < 0 || condIdx < 0) throw new ModelError('E_MODEL_MISMATCH', `model inputs are [${names.join(', ')}], expected noise and condition`);
  const noise = interp.inputView(noiseIdx);
  const condition = interp.inputView(condIdx);
  const plan = interp.outputView(0);
  return {
    name: `kdp-${interp.backend}`,
    interpreter: interp,
    candidates,
    noiseDim: noise.length / candidates,
    condDim: condition.length / candidates,
    outDim: plan.length / candidates,
    noise, condition, plan,
    arenaBytes: interp.arenaBytes,
    invoke: () => interp.invoke(),
  };
}

/**
 * The learned scorer as a fixed-arena interpreter sized for `candidates` plans: one row per waypoint
 * after s_0 (candidates × (horizon − 1)), allocated once here.
 */
export function createTfliteScorer(model: LoadedModel, candidates: number, backend?: Backend): ScorerBackend & { interpreter: Interpreter } {
  const m = model.manifest.scorer;
  if (!m || !model.scorerBytes) throw new ModelError('E_MODEL_MISMATCH', `${model.dir} ships no learned scorer`, { hint: 'export with `kdp export --scorer RUN`, or select with --select goal' });
  const rows = candidates * (model.manifest.layout.horizon - 1);
  const interp = Interpreter.fromBytes(model.scorerBytes, { batch: rows, ...(backend ? { backend } : {}) }).allocate();
  const points = interp.inputView(0), goals = interp.inputView(1), out = interp.outputView(0);
  if (points.length !== rows * 2 || out.length !== rows * 2 || goals.length !== rows * model.manifest.layout.goalDim) {
    throw new ModelError('E_MODEL_MISMATCH', `scorer I/O [${points.length / rows}, ${goals.length / rows}] → ${out.length / rows} per row, expected [2, ${model.manifest.layout.goalDim}] → 2`, { hint: 're-export the model with this version of kdp' });
  }
  return {
    rows, points, goals, out, ctgScale: m.ctgScale, occupancyThreshold: (m.occupancyThreshold ?? 0) * (m.occupancyScale ?? 1), arenaBytes: interp.arenaBytes, name: `scorer-${interp.backend}`, interpreter: interp,
    invoke: () => interp.invoke(),
  };
}
