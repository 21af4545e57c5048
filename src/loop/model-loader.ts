import type { EnvInfo } from '../envs/registry.js';
import { ModelError } from '../errors.js';
import { generatorOutputDim } from '../model/checkpoint-format.js';
import type { ModelManifest } from '../planner/manifest.js';
import { readManifestFile, readModelFile } from '../planner/model-file.js';
import { Interpreter, type Backend } from '../planner/runtime/interpreter.js';
import type { PlannerBackend } from '../control/planner-backend.js';
import type { ScorerBackend } from '../control/scorer-backend.js';

export { readModelFile } from '../planner/model-file.js';

export interface LoadedModel {
  dir: string;
  manifest: ModelManifest;
  bytes: Uint8Array;
  /** the scorer network's bytes when the manifest names one (checked like the model's) */
  scorerBytes?: Uint8Array;
}

/**
 * Read models/<name>/{manifest.json, model.tflite}: the manifest against its schema, every file it
 * names through readModelFile (inside the folder, regular file, size cap, sha256).
 */
export function loadModelDir(dir: string): LoadedModel {
  const manifest = readManifestFile(dir);
  const bytes = readModelFile(dir, manifest.model, 'model');
  const out: LoadedModel = { dir, manifest, bytes };
  if (manifest.scorer) out.scorerBytes = readModelFile(dir, manifest.scorer, 'scorer');
  return out;
}

/**
 * Refuse a model whose manifest does not fit the environment, naming every mismatch — before any
 * loop starts (state/action/goal dims, condition size, plan output size, env name).
 */
export function checkModelMatchesEnv(m: ModelManifest, env: EnvInfo): void {
  const problems: string[] = [];
  const L = m.layout;
  if (m.env !== env.name) problems.push(`env: model trained for "${m.env}", running "${env.name}"`);
  if (L.stateDim !== env.stateDim) problems.push(`stateDim: model ${L.stateDim}, env ${env.stateDim}`);
  if (L.actionDim !== env.actionDim) problems.push(`actionDim: model ${L.actionDim}, env ${env.actionDim}`);
  if (L.goalDim !== env.goalDim) problems.push(`goalDim: model ${L.goalDim}, env ${env.goalDim}`);
  const cond = m.inputs.find((t) => t.name === 'condition');
  const plan = m.outputs.find((t) => t.name === 'plan') ?? m.outputs[0];
  if (!cond || cond.shape[1] !== L.stateDim + L.goalDim) problems.push(`condition input: ${cond ? `[${cond.shape.join(',')}]` : 'missing'}, layout needs ${L.stateDim + L.goalDim} values`);
  if (!plan || plan.shape[1] !== generatorOutputDim(L)) problems.push(`plan output: ${plan ? `[${plan.shape.join(',')}]` : 'missing'}, horizon ${L.horizon} needs ${generatorOutputDim(L)} values`);
  if (Math.abs(L.dt - env.dt) > 1e-12) problems.push(`dt: model ${L.dt}s, env ${env.dt}s`);
  if (problems.length) {
    throw new ModelError('E_MODEL_MISMATCH', `model does not match the environment: ${problems.join('; ')}`, { hint: `use a model exported for ${env.name}, or retrain with --env ${env.name}` });
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
