// Fuzz campaign (npm run soak): 10,000 mutated or truncated .tflite files through
// Interpreter.fromBytes → allocate → invoke on both backends. Each must load and run or be refused
// with a typed KdpError; any other exception (TypeError, RangeError, WASM trap) fails the suite.
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fuzzModels, opCoverageSeeds } from '../helpers/tflite-fuzz.js';
import { buildTestMlp, randomMlp } from '../helpers/graph-builder.js';

const FIX = new URL('../../models/fixtures/', import.meta.url);
const seeds: Uint8Array[] = ['relu', 'silu', 'tanh'].flatMap((a) => [`mlp-${a}-int8`, `mlp-${a}-fp32`])
  .map((n) => new Uint8Array(readFileSync(new URL(`${n}.tflite`, FIX))));
seeds.push(...await opCoverageSeeds());
seeds.push(buildTestMlp(randomMlp({ noiseDim: 5, condDim: 3, hidden: [9], outputDim: 7, activation: 'silu' }, 3), { batch: 3, quantize: 'int8', splitInputs: true }));

test('10,000 mutated/truncated models: run or typed error; no crash, no hang', () => {
  const t0 = Date.now();
  const r = fuzzModels(seeds, 10_000, { seed: 2026 });
  const secs = (Date.now() - t0) / 1000;
  console.log(`\n[figure] fuzz 10000: ran ${r.ran}, rejected ${JSON.stringify(r.rejected)}, crashes ${r.crashes.length}, slowest ${r.slowestMs.toFixed(1)} ms (${r.slowestMutation}), ${secs.toFixed(1)} s`);
  assert.equal(r.crashes, [], JSON.stringify(r.crashes.slice(0, 10)));
  assert.ok(r.slowestMs < 5000, `slowest case ${r.slowestMs} ms`);
});

test.run();
