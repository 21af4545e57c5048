/**
 * The one schema of models/<name>/manifest.json, used by every path that loads a model (infer, bench,
 * eval, demo, fly, arm, serve, sign, flash). Beyond types it checks what makes a model run wrong
 * without crashing: inputs in signature order (noise, condition), shapes that agree with candidates /
 * noiseDim / layout, a normalizer with one finite positive scale per dim, frameSkip ≥ 1.
 * Unknown fields pass through (newer exporters may add some; the signature covers them).
 */
import { z } from 'zod';
import { ModelError } from '../errors.js';
import { generatorOutputDim, type WindowLayout } from '../model/checkpoint-format.js';
import type { ModelManifest } from './manifest.js';

/** model files larger than this are refused before reading (the shipped ones are < 1 MB) */
export const MAX_MODEL_FILE_BYTES = 256 * 1024 * 1024;
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

const posInt = z.number().int().min(1);
const plainFileName = z.string().min(1).max(255)
  .refine((f) => !f.includes('/') && !f.includes('\\') && !f.includes('\0') && !f.startsWith('.') && f !== 'manifest.json',
    { message: 'must be a plain file name inside the model folder (no "/", "..", hidden names or manifest.json)' });
const fileEntry = {
  file: plainFileName,
  sha256: z.string().regex(/^[0-9a-f]{64}$/, { message: 'must be 64 lower-case hex characters' }),
  bytes: z.number().int().min(1).max(MAX_MODEL_FILE_BYTES),
};
const tensor = z.object({ name: z.string().min(1), shape: z.array(posInt).length(2), dtype: z.literal('float32') }).passthrough();
const affine = z.object({ shift: z.array(z.number().finite()), scale: z.array(z.number().finite().positive()) }).passthrough();

const manifestSchema = z.object({
  format: z.literal('kdp-model'),
  version: z.literal(1),
  name: z.string(),
  createdAt: z.string(),
  env: z.string().min(1),
  model: z.object({ ...fileEntry, quantization: z.enum(['int8', 'fp32']), weightBits: z.number().int().min(2).max(8).optional() }).passthrough(),
  inputs: z.array(tensor).length(2),
  outputs: z.array(tensor).min(1),
  candidates: posInt,
  noiseDim: posInt,
  layout: z.object({
    horizon: z.number().int().min(2), frameSkip: posInt, stateDim: posInt, actionDim: posInt, goalDim: z.number().int().min(0),
    dt: z.number().finite().positive(), stateNames: z.array(z.string()), actionNames: z.array(z.string()),
  }).passthrough(),
  normalizer: z.object({ kind: z.enum(['zscore', 'minmax']), state: affine, action: affine, goal: affine }).passthrough(),
  conditionNames: z.array(z.string()),
  arenaBytes: z.number().int().min(0),
  modelVersion: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
  scorer: z.object({ ...fileEntry, quantization: z.enum(['int8', 'fp32']).optional(), inputs: z.array(tensor).optional(), outputs: z.array(tensor).optional(), infeasibleCost: z.number().finite().min(0).optional() }).passthrough().optional(),
  routes: z.object({
    ...fileEntry, quantization: z.enum(['int8', 'fp32']), inputs: z.array(tensor).length(2), outputs: z.array(tensor).min(1), noiseDim: posInt,
    layout: z.object({ horizon: z.number().int().min(2), frameSkip: posInt, stateDim: posInt, actionDim: posInt, goalDim: z.number().int().min(0) }).passthrough(),
    normalizer: z.object({ kind: z.enum(['zscore', 'minmax']), state: affine, action: affine, goal: affine }).passthrough(),
    lookahead: posInt, conditionOn: z.enum(['goal', 'subgoal']), subgoalSteps: posInt.optional(), arenaBytes: z.number().int().min(0),
  }).passthrough().optional(),
  provenance: z.object({}).passthrough(),
  signature: z.object({ alg: z.literal('ed25519'), keyId: z.string(), value: z.string() }).optional(),
}).passthrough();

/** Validate a parsed manifest; every problem is listed (path: message) in one E_MODEL_SCHEMA error. */
export function validateManifest(value: unknown, where: string): ModelManifest {
  const r = manifestSchema.safeParse(value);
  const hint = 're-export the model with `kdp export` (a hand-edited or foreign manifest.json does not describe its model.tflite)';
  if (!r.success) {
    const issues = r.error.issues.slice(0, 8).map((i) => `${i.path.length ? i.path.join('.') : '(manifest)'}: ${i.message}`);
    throw new ModelError('E_MODEL_SCHEMA', `${where}: invalid manifest: ${issues.join('; ')}${r.error.issues.length > 8 ? ` (+${r.error.issues.length - 8} more)` : ''}`, { hint });
  }
  const m = r.data as unknown as ModelManifest;
  const L = m.layout;
  const problems: string[] = [];
  const condDim = L.stateDim + L.goalDim;
  const [noise, cond] = m.inputs;
  if (noise!.name !== 'noise' || cond!.name !== 'condition') problems.push(`inputs must be [noise, condition] in signature order, got [${m.inputs.map((t) => t.name).join(', ')}]`);
  for (const t of [...m.inputs, ...m.outputs]) if (t.shape[0] !== m.candidates) problems.push(`${t.name}: batch ${t.shape[0]} ≠ candidates ${m.candidates}`);
  if (noise!.shape[1] !== m.noiseDim) problems.push(`noise: ${noise!.shape[1]} values ≠ noiseDim ${m.noiseDim}`);
  if (cond!.shape[1] !== condDim) problems.push(`condition: ${cond!.shape[1]} values ≠ stateDim+goalDim ${condDim}`);
  const plan = m.outputs.find((t) => t.name === 'plan') ?? m.outputs[0]!;
  if (plan.shape[1] !== generatorOutputDim(L)) problems.push(`${plan.name}: ${plan.shape[1]} values ≠ ${generatorOutputDim(L)} for horizon ${L.horizon}`);
  for (const [k, dim] of [['state', L.stateDim], ['action', L.actionDim], ['goal', L.goalDim]] as const) {
    const a = m.normalizer[k];
    if (a.shift.length !== dim || a.scale.length !== dim) problems.push(`normalizer.${k}: shift/scale have ${a.shift.length}/${a.scale.length} entries, need ${dim}`);
  }
  if (m.conditionNames.length !== condDim) problems.push(`conditionNames: ${m.conditionNames.length} names ≠ ${condDim}`);
  if (m.scorer && m.scorer.file === m.model.file) problems.push('scorer.file must differ from model.file');
  if (m.routes) {
    const R = m.routes.layout;
    if (m.routes.file === m.model.file || m.routes.file === m.scorer?.file) problems.push('routes.file must differ from model.file and scorer.file');
    if (R.stateDim !== L.stateDim || R.actionDim !== L.actionDim || R.goalDim !== L.goalDim) problems.push(`routes.layout dims ${R.stateDim}/${R.actionDim}/${R.goalDim} ≠ layout ${L.stateDim}/${L.actionDim}/${L.goalDim}`);
    const [rn, rc] = m.routes.inputs;
    if (rc!.shape[1] !== condDim || rn!.shape[1] !== m.routes.noiseDim) problems.push(`routes.inputs: noise ${rn!.shape[1]} / condition ${rc!.shape[1]} ≠ noiseDim ${m.routes.noiseDim} / ${condDim}`);
    if (m.routes.outputs[0]!.shape[1] !== generatorOutputDim(R as WindowLayout)) problems.push(`routes.outputs: ${m.routes.outputs[0]!.shape[1]} values ≠ ${generatorOutputDim(R as WindowLayout)} for horizon ${R.horizon}`);
    for (const t of [...m.routes.inputs, ...m.routes.outputs]) if (t.shape[0] !== m.candidates) problems.push(`routes ${t.name}: batch ${t.shape[0]} ≠ candidates ${m.candidates}`);
    if (!m.scorer) problems.push('routes need the learned scorer (scorer) that selects them');
  }
  if (problems.length) throw new ModelError('E_MODEL_SCHEMA', `${where}: inconsistent manifest: ${problems.join('; ')}`, { hint });
  return m;
}
