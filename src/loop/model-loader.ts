import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { EnvInfo } from '../envs/registry.js';
import { ModelError } from '../errors.js';
import { generatorOutputDim } from '../model/checkpoint-format.js';
import type { ModelManifest } from '../planner/manifest.js';
import { Interpreter, type Backend } from '../planner/runtime/interpreter.js';
import type { PlannerBackend } from './planner-backend.js';

export interface LoadedModel {
  dir: string;
  manifest: ModelManifest;
  bytes: Uint8Array;
}

/** Read models/<name>/{manifest.json, model.tflite}, checking the file against the manifest's sha256. */
export function loadModelDir(dir: string): LoadedModel {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new ModelError('E_MODEL_IO', `no model directory at ${dir}`, { hint: 'pass a folder with manifest.json + model.tflite (e.g. models/maze2d-umaze), made by `kdp export`' });
  }
  const mPath = join(dir, 'manifest.json');
  if (!existsSync(mPath)) throw new ModelError('E_MODEL_IO', `${dir} has no manifest.json`, { hint: 'export the model with `kdp export --checkpoint RUN --out DIR`' });
  let manifest: ModelManifest;
  try {
    manifest = JSON.parse(readFileSync(mPath, 'utf8')) as ModelManifest;
  } catch (e) {
    throw new ModelError('E_MODEL_SCHEMA', `${mPath} is not valid JSON`, { cause: e, hint: 're-export the model' });
  }
  if (manifest.format !== 'kdp-model' || manifest.version !== 1 || !manifest.layout || !manifest.normalizer || !manifest.model) {
    throw new ModelError('E_MODEL_SCHEMA', `${mPath} is not a kdp-model v1 manifest`, { hint: 're-export the model with this version of kdp' });
  }
  const tPath = join(dir, manifest.model.file);
  if (!existsSync(tPath)) throw new ModelError('E_MODEL_IO', `${tPath} is missing`, { hint: 'the model folder is incomplete; re-export or re-flash it' });
  const bytes = new Uint8Array(readFileSync(tPath));
  const sha = createHash('sha256').update(bytes).digest('hex');
  if (sha !== manifest.model.sha256) {
    throw new ModelError('E_MODEL_IO', `${tPath}: sha256 ${sha.slice(0, 12)}… does not match the manifest (${manifest.model.sha256.slice(0, 12)}…)`, { hint: 'the file was modified or truncated; re-export or re-flash the model' });
  }
  return { dir, manifest, bytes };
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
