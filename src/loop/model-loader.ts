import type { EnvInfo } from '../envs/registry.js';
import { ModelError } from '../errors.js';
import { generatorOutputDim } from '../model/checkpoint-format.js';
import type { ModelManifest } from '../planner/manifest.js';
import { readManifestFile, readModelFile } from '../planner/model-file.js';
import { Interpreter, type Backend } from '../planner/runtime/interpreter.js';
import type { PlannerBackend } from './planner-backend.js';

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
export function createTflitePlanner(model: LoadedModel, candidates: number, backend: Backend = 'wasm'): PlannerBackend & { interpreter: Interpreter } {
  const interp = Interpreter.fromBytes(model.bytes, { batch: candidates, backend }).allocate();
  const names = model.manifest.inputs.map((t) => t.name);
  const noiseIdx = names.indexOf('noise');
  const condIdx = names.indexOf('condition');
  if (noiseIdx < 0 || condIdx < 0) throw new ModelError('E_MODEL_MISMATCH', `model inputs are [${names.join(', ')}], expected noise and condition`);
  const noise = interp.inputView(noiseIdx);
  const condition = interp.inputView(condIdx);
  const plan = interp.outputView(0);
  return {
    name: `kdp-${backend}`,
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
