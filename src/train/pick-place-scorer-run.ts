/**
 * `kdp train-scorer` for an so100-pick-place generator: trains the learned progress scorer
 * (pick-place-scorer-trainer.ts) on the generator's dataset and writes
 *   <out>/progress.json, <out>/progress-weights.bin   the float scorer (meta last, each atomic)
 *   <model>/progress.tflite + manifest `progress`      with `attach` (int8, sized for the model's candidates ×
 *                                                      (horizon − 1) rows; a previous signature is dropped)
 * `kdp arm --task pick-place` then selects among the generator's candidates with it.
 */
import { unpackWeights } from '../model/mlp-spec.js';
import { exportMlp } from '../planner/export/mlp-graph.js';
import { Interpreter } from '../planner/runtime/interpreter.js';
import { attachToModel, loadScorerWeights, openModelScorerRun, runScorerSteps, sha256Hex, writeScorerFolder, type ModelScorerRunOptions } from './scorer-files.js';
import { PROGRESS_FILE, PROGRESS_FLAG_DIMS, PROGRESS_POINT_DIMS, type ProgressManifest } from '../arm/pick-place-scorer.js';
import { DEFAULT_PP_SCORER_CONFIG, PickPlaceScorerTrainer, type PickPlaceScorerConfig, type PickPlaceScorerHoldout, type PickPlaceScorerStats } from './pick-place-scorer-trainer.js';

export const PP_SCORER_ENV = 'so100-pick-place';

export type PickPlaceScorerRunOptions = ModelScorerRunOptions<PickPlaceScorerConfig, PickPlaceScorerStats>;

export interface PickPlaceScorerRunResult {
  out: string; steps: number; seconds: number; interrupted: boolean; holdout: PickPlaceScorerHoldout;
  attached?: { file: string; bytes: number; sha256: string; rows: number; arenaBytes: number; signatureDropped: boolean };
}

export async function trainPickPlaceScorerRun(o: PickPlaceScorerRunOptions): Promise<PickPlaceScorerRunResult> {
  const { manifest, dataset, ds } = await openModelScorerRun(o, PP_SCORER_ENV, 'progress scorer');
  const config: PickPlaceScorerConfig = { ...DEFAULT_PP_SCORER_CONFIG, ...o.config };
  const trainer = new PickPlaceScorerTrainer(ds, manifest.normalizer, config);
  if (o.calibrateOnly) {
    const prior = loadScorerWeights(o.out, 'progress.json', 'progress-weights.bin', 'progress scorer');
    trainer.loadWeights(prior.flat);
    trainer.stepCount = prior.trainingSteps ?? config.steps;
  }
  const { seconds, interrupted } = await runScorerSteps(trainer, config.steps, o);
  const holdout = trainer.holdout();
  const result: PickPlaceScorerRunResult = { out: o.out, steps: trainer.stepCount, seconds, interrupted, holdout };
  if (interrupted) return result;
  const ema = trainer.net.ema;
  const provenance = { run: o.out, trainingSteps: trainer.stepCount, seed: config.seed, dataset, ...(o.command ? { command: o.command } : {}) };
  const meta = {
    format: 'kdp-pick-place-progress', version: 1, env: PP_SCORER_ENV, mlp: trainer.spec, config: { ...config }, holdout: { ...holdout }, provenance,
    ctgScale: trainer.ctgScale, createdAt: new Date().toISOString(),
  };
  if (!o.calibrateOnly) writeScorerFolder(o.out, 'progress.json', 'progress-weights.bin', ema, meta);
  if (o.attach) {
    const H = manifest.layout.horizon, rows = manifest.candidates * (H - 1);
    const weights = unpackWeights(trainer.spec, Float32Array.from(ema));
    const ex = exportMlp(weights, {
      quantization: 'int8', candidates: rows,
      // waypoints are z-scored states: N(0, 1.5²) covers them; the flags come from dataset rows
      calibration: { conditions: trainer.calibrationFlags(2048), samples: 2048, seed: config.seed, noiseSigma: 1.5 },
      ioNames: { inputs: ['waypoint', 'flags'], output: 'progress' },
      name: 'kdp_pick_place_progress', description: `kdp learned progress scorer for ${PP_SCORER_ENV} (steps to the end; int8)`,
    });
    const arenaBytes = Interpreter.fromBytes(ex.bytes, { batch: rows, backend: 'reference' }).allocate().arenaBytes;
    const entry: ProgressManifest = {
      file: PROGRESS_FILE, sha256: sha256Hex(ex.bytes), bytes: ex.bytes.length, quantization: 'int8',
      inputs: [{ name: 'waypoint', shape: [rows, PROGRESS_POINT_DIMS], dtype: 'float32' }, { name: 'flags', shape: [rows, PROGRESS_FLAG_DIMS], dtype: 'float32' }],
      outputs: [{ name: 'progress', shape: [rows, 1], dtype: 'float32' }],
      mlp: trainer.spec, ctgScale: trainer.ctgScale, rowsPerPlan: H - 1, arenaBytes, provenance, holdout: { ...holdout },
    };
    const shipped = attachToModel(o.model, manifest, 'progress', PROGRESS_FILE, ex.bytes, entry);
    result.attached = { file: shipped.file, bytes: ex.bytes.length, sha256: entry.sha256, rows, arenaBytes, signatureDropped: shipped.signatureDropped };
  }
  return result;
}
