/**
 * `kdp train-scorer` for a crazyflie-nav generator: trains the learned clearance scorer (nav-clearance-trainer.ts)
 * on the generator's dataset and writes
 *   <out>/clearance.json, <out>/clearance-weights.bin   the float scorer (meta last, each atomic)
 *   <model>/clearance.tflite + manifest `clearance`      with `attach` (int8, sized for the model's candidates ×
 *                                                        NAV_ROWS_PER_PLAN rows; a previous signature is dropped)
 * `kdp fly` then selects among the generator's candidates with it: no obstacle list reaches the selection.
 */
import { unpackWeights } from '../model/mlp-spec.js';
import { exportMlp } from '../planner/export/mlp-graph.js';
import { Interpreter } from '../planner/runtime/interpreter.js';
import { attachToModel, loadScorerWeights, openModelScorerRun, runScorerSteps, sha256Hex, writeScorerFolder, type ModelScorerRunOptions } from './scorer-files.js';
import { CLEARANCE_FILE, NAV_ROWS_PER_PLAN, type ClearanceManifest } from '../fly/nav-clearance.js';
import {
  CLEARANCE_UNIT_M, DEFAULT_NAV_CLEARANCE_CONFIG, NAV_CONTEXT_DIM, NAV_CONTEXT_OFFSET, NAV_LENGTH_UNIT_M, NAV_ROW_DIM, NavClearanceTrainer,
  type NavClearanceConfig, type NavClearanceHoldout, type NavClearanceStats,
} from './nav-clearance-trainer.js';

export const NAV_CLEARANCE_ENV = 'crazyflie-nav';
export type NavClearanceRunOptions = ModelScorerRunOptions<NavClearanceConfig, NavClearanceStats>;

export interface NavClearanceRunResult {
  out: string; steps: number; seconds: number; interrupted: boolean; holdout: NavClearanceHoldout;
  attached?: { file: string; bytes: number; sha256: string; rows: number; arenaBytes: number; signatureDropped: boolean; freeThreshold: number; calibration: Record<string, number> };
}

export async function trainNavClearanceRun(o: NavClearanceRunOptions): Promise<NavClearanceRunResult> {
  const { manifest, dataset, ds } = await openModelScorerRun(o, NAV_CLEARANCE_ENV, 'clearance scorer');
  const config: NavClearanceConfig = { ...DEFAULT_NAV_CLEARANCE_CONFIG, ...o.config };
  const trainer = new NavClearanceTrainer(ds, config);
  if (o.calibrateOnly) {
    const prior = loadScorerWeights(o.out, 'clearance.json', 'clearance-weights.bin', 'clearance scorer');
    trainer.loadWeights(prior.flat);
    trainer.stepCount = prior.trainingSteps ?? config.steps;
  }
  const { seconds, interrupted } = await runScorerSteps(trainer, config.steps, o);
  const holdout = trainer.holdout();
  const result: NavClearanceRunResult = { out: o.out, steps: trainer.stepCount, seconds, interrupted, holdout };
  if (interrupted) return result;
  const ema = trainer.net.ema;
  const provenance = { run: o.out, trainingSteps: trainer.stepCount, seed: config.seed, dataset, ...(o.command ? { command: o.command } : {}) };
  const meta = {
    format: 'kdp-nav-clearance', version: 1, env: NAV_CLEARANCE_ENV, mlp: trainer.spec, config: { ...config }, holdout: { ...holdout }, provenance,
    lengthUnitM: NAV_LENGTH_UNIT_M, clearanceUnitM: CLEARANCE_UNIT_M,
    createdAt: new Date().toISOString(),
  };
  if (!o.calibrateOnly) writeScorerFolder(o.out, 'clearance.json', 'clearance-weights.bin', ema, meta);
  if (o.attach) {
    const rows = manifest.candidates * NAV_ROWS_PER_PLAN;
    const weights = unpackWeights(trainer.spec, Float32Array.from(ema));
    const ex = exportMlp(weights, {
      quantization: 'int8', candidates: rows,
      calibration: { conditions: trainer.calibrationContexts(2048), samples: 2048, seed: config.seed, noiseSigma: config.reachM / NAV_LENGTH_UNIT_M },
      ioNames: { inputs: ['offset', 'context'], output: 'clearance' },
      name: 'kdp_nav_clearance', description: `kdp learned clearance scorer for ${NAV_CLEARANCE_ENV} (free logit, clearance; int8)`,
    });
    const arenaBytes = Interpreter.fromBytes(ex.bytes, { batch: rows, backend: 'reference' }).allocate().arenaBytes;
    const cal = calibrateFreeThreshold(ex.bytes, rows, trainer, config.marginM);
    const entry: ClearanceManifest = {
      file: CLEARANCE_FILE, sha256: sha256Hex(ex.bytes), bytes: ex.bytes.length, quantization: 'int8',
      inputs: [{ name: 'offset', shape: [rows, 2], dtype: 'float32' }, { name: 'context', shape: [rows, NAV_CONTEXT_DIM], dtype: 'float32' }],
      outputs: [{ name: 'clearance', shape: [rows, 2], dtype: 'float32' }],
      mlp: trainer.spec, lengthUnitM: NAV_LENGTH_UNIT_M, clearanceUnitM: CLEARANCE_UNIT_M,
      contextDims: Array.from({ length: NAV_CONTEXT_DIM }, (_, j) => NAV_CONTEXT_OFFSET + j),
      marginM: config.marginM, bodyRadiusM: config.bodyRadiusM, rowsPerPlan: NAV_ROWS_PER_PLAN, arenaBytes, provenance,
      freeThreshold: cal.threshold, datasetSpeedMps: +trainer.datasetSpeedP99().toFixed(3), holdout: { ...holdout, ...cal.figures },
    };
    const shipped = attachToModel(o.model, manifest, 'clearance', CLEARANCE_FILE, ex.bytes, entry);
    result.attached = { file: shipped.file, bytes: ex.bytes.length, sha256: entry.sha256, rows, arenaBytes, signatureDropped: shipped.signatureDropped, freeThreshold: cal.threshold, calibration: cal.figures };
  }
  return result;
}

/**
 * The exported (int8) network's free threshold, set on held-out dataset episodes only: the smallest logit T on a
 * 0.5 grid such that at most 0.1 % of held-out points whose sphere comes within marginM of a recorded obstacle are
 * called free (logit > T): the margin the known-obstacle check keeps, held at the 99.9th percentile. Quantization
 * blurs the trained boundary (the logit-0 crossing lets ~2 % of those points through); this puts the flown one back
 * on the safe side.
 */
function calibrateFreeThreshold(bytes: Uint8Array, rows: number, trainer: NavClearanceTrainer, marginM: number): { threshold: number; figures: Record<string, number> } {
  const interp = Interpreter.fromBytes(bytes, { batch: rows }).allocate();
  const off = interp.inputView(0), ctx = interp.inputView(1), out = interp.outputView(0);
  const n = rows * Math.max(1, Math.ceil(100_000 / rows));
  const { x, clearance } = trainer.sampleHoldout(n);
  const z = new Float32Array(n);
  for (let b = 0; b < n; b += rows) {
    for (let r = 0; r < rows; r++) {
      const i = (b + r) * NAV_ROW_DIM;
      off[r * 2] = x[i]!; off[r * 2 + 1] = x[i + 1]!;
      for (let j = 0; j < NAV_CONTEXT_DIM; j++) ctx[r * NAV_CONTEXT_DIM + j] = x[i + 2 + j]!;
    }
    interp.invoke();
    for (let r = 0; r < rows; r++) z[b + r] = out[r * 2]!;
  }
  let close = 0, clear = 0;
  for (let i = 0; i < n; i++) { if (clearance[i]! < marginM) close++; if (clearance[i]! > marginM + 0.05) clear++; }
  const rate = (T: number): { closeFree: number; clearBlocked: number } => {
    let cf = 0, cb = 0;
    for (let i = 0; i < n; i++) { if (clearance[i]! < marginM && z[i]! > T) cf++; if (clearance[i]! > marginM + 0.05 && z[i]! <= T) cb++; }
    return { closeFree: cf / Math.max(1, close), clearBlocked: cb / Math.max(1, clear) };
  };
  let T = 0;
  while (T < 10 && rate(T).closeFree > 0.001) T += 0.5;
  const at = rate(T), at0 = rate(0);
  return { threshold: T, figures: { int8Samples: n, int8CloseCalledFreeAt0: at0.closeFree, int8CloseCalledFree: at.closeFree, int8ClearCalledBlocked: at.clearBlocked } };
}
