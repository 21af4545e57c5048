/**
 * A valid random-weight checkpoint directory (the format `kdp train` writes; see
 * src/model/checkpoint-format.ts), for export tests and the runtime's fuzz corpus.
 * Deterministic: the same options give byte-identical files.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CheckpointMeta, WindowLayout } from '../../src/model/checkpoint-format.js';
import { layerDims, packWeights, type Activation, type MlpWeights } from '../../src/model/mlp-spec.js';
import { SeededRandom } from '../../src/util/rng.js';

export interface FixtureOptions {
  noiseDim: number;
  condDim: number;
  hidden: number[];
  outDim: number;
  activation: Activation;
  seed: number;
  /** also write calibration-conditions.bin with this many rows (default 128; 0 = omit the file) */
  calibrationRows?: number;
}

/** Random weights with fan-in scaling (outputs O(1)) and small biases. */
export function randomMlpWeights(o: Omit<FixtureOptions, 'calibrationRows'>): MlpWeights {
  const rng = new SeededRandom(o.seed);
  const spec = { noiseDim: o.noiseDim, condDim: o.condDim, hidden: [...o.hidden], outputDim: o.outDim, activation: o.activation };
  const layers = layerDims(spec).map(([inDim, outDim]) => {
    const g = Math.sqrt(2 / inDim);
    const W = new Float32Array(inDim * outDim);
    for (let i = 0; i < W.length; i++) W[i] = rng.normal() * g;
    const b = new Float32Array(outDim);
    for (let i = 0; i < outDim; i++) b[i] = rng.normal() * 0.1;
    return { inDim, outDim, W, b };
  });
  return { spec, layers };
}

/** A layout consistent with condDim/outDim (conditionDim = condDim, generatorOutputDim = outDim). */
export function fixtureLayout(condDim: number, outDim: number): WindowLayout {
  for (const goalDim of [2, 0]) {
    const s = condDim - goalDim;
    if (s < 1) continue;
    for (let H = 32; H >= 2; H--) {
      const total = outDim + s;
      if (total % H !== 0) continue;
      const a = total / H - s;
      if (a >= 1) return mk(H, s, a, goalDim);
    }
  }
  return mk(1, condDim, outDim, 0);
  function mk(horizon: number, stateDim: number, actionDim: number, goalDim: number): WindowLayout {
    return {
      horizon, frameSkip: 1, stateDim, actionDim, goalDim, dt: 0.01,
      stateNames: Array.from({ length: stateDim }, (_, i) => ['x', 'y', 'vx', 'vy'][i] ?? `s${i}`),
      actionNames: Array.from({ length: actionDim }, (_, i) => `a${i}`),
    };
  }
}

export interface Fixture { dir: string; weights: MlpWeights; meta: CheckpointMeta; calibration: Float32Array | null }

export function makeFixtureCheckpoint(dir: string, o: FixtureOptions): Fixture {
  mkdirSync(dir, { recursive: true });
  const weights = randomMlpWeights(o);
  const flat = packWeights(weights);
  const wBytes = Buffer.from(flat.buffer, flat.byteOffset, flat.byteLength);
  writeFileSync(join(dir, 'weights.bin'), wBytes);
  let calibration: Float32Array | null = null;
  const rows = o.calibrationRows ?? 128;
  if (rows > 0) {
    const rng = new SeededRandom(o.seed ^ 0xca1b);
    calibration = new Float32Array(rows * o.condDim);
    for (let i = 0; i < calibration.length; i++) calibration[i] = rng.normal() * 0.8;
    writeFileSync(join(dir, 'calibration-conditions.bin'), Buffer.from(calibration.buffer));
  }
  const layout = fixtureLayout(o.condDim, o.outDim);
  const ones = (n: number): number[] => Array.from({ length: n }, () => 1);
  const zeros = (n: number): number[] => Array.from({ length: n }, () => 0);
  const meta: CheckpointMeta = {
    format: 'kdp-checkpoint', version: 1, step: 1000, totalSteps: 1000, createdAt: '2026-01-01T00:00:00.000Z',
    env: 'maze2d-umaze-v1', mlp: weights.spec, layout,
    normalizer: {
      kind: 'zscore',
      state: { shift: zeros(layout.stateDim), scale: ones(layout.stateDim) },
      action: { shift: zeros(layout.actionDim), scale: ones(layout.actionDim) },
      goal: { shift: zeros(layout.goalDim), scale: ones(layout.goalDim) },
    },
    config: { fixture: true },
    provenance: { dataset: 'fixtures/random', datasetCommand: 'kdp dataset maze2d --fixture', seed: o.seed, commit: 'fixture', command: 'makeFixtureCheckpoint' },
    files: { weights: { sha256: createHash('sha256').update(wBytes).digest('hex'), bytes: wBytes.length } },
  };
  writeFileSync(join(dir, 'checkpoint.json'), JSON.stringify(meta, null, 2) + '\n');
  return { dir, weights, meta, calibration };
}
