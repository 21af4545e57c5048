/**
 * Small golden models in models/fixtures/: for each activation × precision, a deterministic random
 * MLP exported with `exportMlp`, plus inputs and the outputs real TFLite (tfjs-tflite) computes.
 * The runtime's tests and fuzz corpus start from these. Regenerate (bytes are reproducible):
 *
 *   node --import tsx -e "import('./src/planner/export/golden-fixtures.ts').then(m => m.writeGoldenFixtures('models/fixtures'))"
 *
 * `<name>.json`: { model, quantization, activation, candidates, spec, inputs: [[noise…], [condition…]],
 *   outputs: [[plan…]] (tfjs-tflite), outputStep (int8: one output quantization step) }.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Activation, MlpWeights } from '../../src/model/mlp-spec.js';
import { layerDims } from '../../src/model/mlp-spec.js';
import { exportMlp, type Quantization } from '../../src/planner/export/mlp-graph.js';
import { SeededRandom } from '../../src/util/rng.js';
import { outputStep } from '../../src/planner/export/quant.js';

export interface GoldenSpec { name: string; activation: Activation; quantization: Quantization; candidates: number; seed: number }

export const GOLDEN_DIMS = { noiseDim: 8, condDim: 6, hidden: [32, 32], outputDim: 44 };

export const GOLDEN_FIXTURES: GoldenSpec[] = (['relu', 'silu', 'tanh'] as Activation[]).flatMap((activation, ai) =>
  (['fp32', 'int8'] as Quantization[]).map((quantization) => ({
    name: `mlp-${activation}-${quantization}`, activation, quantization, candidates: 4, seed: 100 + ai,
  })));

export function goldenWeights(g: GoldenSpec): MlpWeights {
  const rng = new SeededRandom(g.seed);
  const spec = { ...GOLDEN_DIMS, hidden: [...GOLDEN_DIMS.hidden], activation: g.activation };
  return {
    spec,
    layers: layerDims(spec).map(([inDim, outDim]) => {
      const W = new Float32Array(inDim * outDim);
      for (let i = 0; i < W.length; i++) W[i] = rng.normal() * Math.sqrt(2 / inDim);
      const b = new Float32Array(outDim);
      for (let i = 0; i < outDim; i++) b[i] = rng.normal() * 0.1;
      return { inDim, outDim, W, b };
    }),
  };
}

export function buildGolden(g: GoldenSpec): { bytes: Uint8Array; inputs: Float32Array[]; step: number | null; weights: MlpWeights } {
  const weights = goldenWeights(g);
  const ex = exportMlp(weights, { quantization: g.quantization, candidates: g.candidates, calibration: { samples: 512, seed: g.seed } });
  const rng = new SeededRandom(g.seed + 1);
  const inputs = [rng.normals(g.candidates * GOLDEN_DIMS.noiseDim), rng.normals(g.candidates * GOLDEN_DIMS.condDim)];
  return { bytes: ex.bytes, inputs, step: ex.int8 ? outputStep(ex.int8) : null, weights };
}

export async function writeGoldenFixtures(dir: string): Promise<void> {
  const { loadTfliteOracle } = await import('../../src/planner/tflite/tfjs-tflite-runner.js');
  mkdirSync(dir, { recursive: true });
  for (const g of GOLDEN_FIXTURES) {
    const { bytes, inputs, step, weights } = buildGolden(g);
    const oracle = await loadTfliteOracle(bytes);
    const outputs = oracle.infer(inputs);
    oracle.close();
    writeFileSync(join(dir, `${g.name}.tflite`), bytes);
    writeFileSync(join(dir, `${g.name}.json`), JSON.stringify({
      model: `${g.name}.tflite`, quantization: g.quantization, activation: g.activation, candidates: g.candidates,
      spec: weights.spec, outputStep: step, producedBy: 'tfjs-tflite 0.0.1-alpha.10 (TFLite + XNNPACK, WASM SIMD)',
      inputs: inputs.map((a) => Array.from(a)), outputs: outputs.map((a) => Array.from(a)),
    }) + '\n');
  }
}
