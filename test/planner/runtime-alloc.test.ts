// Zero allocation in the hot path (issue 3 acceptance): 100,000 invokes (by count) of a small model
// produce 0 GC events and < 1 KB of heap growth, on both backends. Runs under --expose-gc (run-tests).
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Interpreter, type Backend, type InterpreterOptions } from '../../src/planner/runtime/interpreter.js';
import { measureAllocations } from '../../src/util/alloc-meter.js';
import { attentionGraph } from '../helpers/attention-graph.js';

const FIX = new URL('../../models/fixtures/', import.meta.url);
const gc = (globalThis as { gc?: () => void }).gc;

/** The measured loop: sync, integer-only bookkeeping (a double accumulator would itself box). */
function hotLoop(it: Interpreter, src: Float32Array, out: Float32Array, n: number): number {
  let sink = 0;
  for (let i = 0; i < n; i++) {
    src[0] = i & 7;
    it.setInput(0, src);
    it.invoke();
    sink ^= (out[0]! * 1024) | 0;
  }
  return sink;
}

/** The same meter `kdp bench` reports with (src/util/alloc-meter.ts). */
async function measure(bytes: Uint8Array, opts: InterpreterOptions, invokes: number): Promise<{ gcEvents: number; heapGrowth: number }> {
  const it = Interpreter.fromBytes(bytes, opts).allocate();
  const src = new Float32Array(it.inputView(0).length).fill(0.25);
  const out = it.outputView(0);
  let sink = 0;
  hotLoop(it, src, out, 3000); // JIT tier-up of the kernels and of this loop
  const r = await measureAllocations((n) => { sink ^= hotLoop(it, src, out, n); }, invokes);
  assert.ok(Number.isFinite(sink));
  return { gcEvents: r.gcCount, heapGrowth: r.heapGrowthBytes };
}

const fixture = (model: string): Uint8Array => new Uint8Array(readFileSync(new URL(`${model}.tflite`, FIX)));
// the shipped umaze model has 6-bit weights: its FCs run on the relaxed-SIMD kernel (batch 4 keeps it quick)
const shipped = new Uint8Array(readFileSync(new URL('../../models/maze2d-umaze/model.tflite', import.meta.url)));
const cases: Array<[string, () => Uint8Array, InterpreterOptions, number]> = [
  ['mlp-relu-int8', () => fixture('mlp-relu-int8'), { backend: 'wasm' }, 100_000],
  ['mlp-silu-fp32', () => fixture('mlp-silu-fp32'), { backend: 'wasm' }, 100_000],
  ['mlp-relu-int8', () => fixture('mlp-relu-int8'), { backend: 'reference' }, 20_000],
  ['maze2d-umaze (relaxed-SIMD FC)', () => shipped, { backend: 'wasm', batch: 4 }, 100_000],
  // BATCH_MATMUL + SOFTMAX (an attention block, test/helpers/attention-graph.ts)
  ['attention-int8', () => attentionGraph({ batch: 4, tokens: 6, channels: 8, quant: 'int8', seed: 5 }).bytes, { backend: 'wasm' }, 100_000],
  ['attention-fp32', () => attentionGraph({ batch: 4, tokens: 6, channels: 8, quant: 'fp32', seed: 5 }).bytes, { backend: 'wasm' }, 100_000],
  ['attention-int8', () => attentionGraph({ batch: 4, tokens: 6, channels: 8, quant: 'int8', seed: 5 }).bytes, { backend: 'reference' }, 20_000],
];
for (const [model, bytes, opts, n] of cases) {
  const backend: Backend = opts.backend ?? 'wasm';
  test(`${n} invokes of ${model} (${backend}): 0 GC events, heap growth < 1 KB`, async () => {
    assert.ok(gc, 'run under --expose-gc (node scripts/run-tests.mjs does)');
    if (model.startsWith('maze2d')) assert.ok(Interpreter.fromBytes(bytes(), opts).kernelKinds.includes('fc_i6'), 'expected the relaxed kernel');
    const r = await measure(bytes(), opts, n);
    console.log(`\n[figure] ${model} ${backend}: ${n} invokes → ${r.gcEvents} GC events, heap growth ${r.heapGrowth} B`);
    assert.is(r.gcEvents, 0);
    assert.ok(r.heapGrowth < 1024, `heap grew ${r.heapGrowth} B`);
  });
}

test.run();
