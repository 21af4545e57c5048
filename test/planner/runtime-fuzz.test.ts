// Fuzz (small): 600 mutated/truncated model files → each loads and runs or is refused with a typed
// KdpError; no other exception, no WASM trap, no hang. The 10,000-case campaign is test/soak/fuzz-tflite.test.ts.
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fuzzModels, opCoverageSeeds } from '../helpers/tflite-fuzz.js';
import { Interpreter } from '../../src/planner/runtime/interpreter.js';

const FIX = new URL('../../models/fixtures/', import.meta.url);
const seeds: Uint8Array[] = ['mlp-relu-int8', 'mlp-silu-int8', 'mlp-tanh-fp32', 'mlp-relu-fp32'].map((n) => new Uint8Array(readFileSync(new URL(`${n}.tflite`, FIX))));
seeds.push(...await opCoverageSeeds());

test('the op-coverage seeds load and run unmutated (wasm and reference agree)', () => {
  for (const b of seeds.slice(4)) {
    const outs = (['wasm', 'reference'] as const).map((backend) => {
      const it = Interpreter.fromBytes(b, { backend }).allocate();
      for (let i = 0; i < it.inputCount; i++) it.inputView(i).fill(0.3);
      it.invoke();
      return it.outputView(0).slice();
    });
    for (let i = 0; i < outs[0]!.length; i++) assert.ok(Math.abs(outs[0]![i]! - outs[1]![i]!) <= 1e-6);
  }
});

test('600 mutated models: run or typed error, nothing else', () => {
  const r = fuzzModels(seeds, 600, { seed: 7 });
  assert.equal(r.crashes, [], JSON.stringify(r.crashes.slice(0, 5)));
  assert.ok(r.ran > 0, 'some mutations still load and run');
  assert.ok(Object.keys(r.rejected).length >= 2, `rejections by code: ${JSON.stringify(r.rejected)}`);
  // how slow the slowest case is is a timing figure: `npm run soak` (test/soak/fuzz-tflite.test.ts) bounds it
  console.log(`\n[figure] fuzz 600: ran ${r.ran}, rejected ${JSON.stringify(r.rejected)}, slowest ${r.slowestMs.toFixed(1)} ms`);
});

test.run();
