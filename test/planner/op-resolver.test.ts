// The op resolver: each TFLite op is one unit registered in a fixed-capacity table; the interpreter
// looks ops up there. Capacity and duplicates are refused with typed errors; a model whose op is not
// registered fails to load with E_MODEL_UNSUPPORTED_OP; a unit added from outside runs like a builtin.
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { KdpError, ModelError } from '../../src/errors.js';
import { Interpreter } from '../../src/planner/runtime/interpreter.js';
import { BUILTIN_OPS, builtinResolver, SUPPORTED_OPS } from '../../src/planner/runtime/ops/builtin-ops.js';
import { OpResolver } from '../../src/planner/runtime/ops/op-resolver.js';
import { FULLY_CONNECTED } from '../../src/planner/runtime/ops/fully-connected.js';
import { RELU } from '../../src/planner/runtime/ops/relu.js';
import { CONCATENATION } from '../../src/planner/runtime/ops/concatenation.js';
import type { OpUnit } from '../../src/planner/runtime/ops/op-unit.js';
import { GraphBuilder } from '../helpers/graph-builder.js';

const FIX = new URL('../../models/fixtures/', import.meta.url);
const fpBytes = new Uint8Array(readFileSync(new URL('mlp-relu-fp32.tflite', FIX)));

function expectCode(f: () => unknown, code: string, pattern: RegExp): void {
  try { f(); assert.unreachable(`expected ${code}`); } catch (e) {
    assert.instance(e, KdpError);
    assert.is((e as KdpError).code, code);
    assert.match((e as Error).message, pattern);
    assert.ok((e as KdpError).hint, 'the error says what to do');
  }
}

test('builtin ops: one unit per op name, unique codes, the list the runtime reports', () => {
  assert.equal(SUPPORTED_OPS, BUILTIN_OPS.map((u) => u.name));
  assert.is(new Set(BUILTIN_OPS.map((u) => u.code)).size, BUILTIN_OPS.length);
  assert.equal(Interpreter.supportedOps, SUPPORTED_OPS);
  assert.is(builtinResolver().size, BUILTIN_OPS.length);
});

test('resolver: refuses a duplicate and refuses beyond capacity, with typed errors', () => {
  const r = new OpResolver(2).add(FULLY_CONNECTED);
  expectCode(() => r.add(FULLY_CONNECTED), 'E_OP_RESOLVER_DUPLICATE', /FULLY_CONNECTED is already registered/);
  r.add(RELU);
  expectCode(() => r.add(CONCATENATION), 'E_OP_RESOLVER_FULL', /no room for CONCATENATION \(capacity 2/);
  assert.equal(r.names(), ['FULLY_CONNECTED', 'RELU']);
  expectCode(() => new OpResolver(0), 'E_USAGE', /capacity 0/);
});

test('resolver: a model with an op the resolver lacks fails to load with E_MODEL_UNSUPPORTED_OP naming it', () => {
  const r = new OpResolver(2).add(FULLY_CONNECTED).add(RELU);
  try { Interpreter.fromBytes(fpBytes, { resolver: r }); assert.unreachable(); } catch (e) {
    assert.instance(e, ModelError);
    assert.is((e as ModelError).code, 'E_MODEL_UNSUPPORTED_OP');
    assert.match((e as Error).message, /CONCATENATION is not registered in this interpreter's op resolver/);
  }
  expectCode(() => Interpreter.fromBytes(fpBytes, { ops: ['FULLY_CONNECTED', 'EXP'] }), 'E_MODEL_UNSUPPORTED_OP', /EXP is not implemented/);
});

test('resolver: exactly the model\'s ops suffice, and give the same outputs as the full resolver', () => {
  const full = Interpreter.fromBytes(fpBytes, { backend: 'reference' }).allocate();
  const names = [...new Set(full.opNames)];
  const r = new OpResolver(names.length);
  for (const n of names) r.add(BUILTIN_OPS.find((u) => u.name === n)!);
  for (const backend of ['reference', 'wasm'] as const) {
    const a = Interpreter.fromBytes(fpBytes, { backend }).allocate();
    const b = Interpreter.fromBytes(fpBytes, { backend, resolver: r }).allocate();
    for (let i = 0; i < a.inputCount; i++) {
      const v = a.inputView(i);
      for (let k = 0; k < v.length; k++) v[k] = Math.sin(k * 0.7 + i);
      b.inputView(i).set(v);
    }
    a.invoke(); b.invoke();
    assert.equal(Array.from(b.outputView(0)), Array.from(a.outputView(0)));
  }
});

test('resolver: an op added from outside (one unit, one registration) runs on both backends', () => {
  // a unit that reuses RELU's prepare and kernels under another builtin code (SOFTMAX, 25): proves the
  // interpreter finds prepare and binders through the resolver, not through a switch of its own
  const fake: OpUnit = { ...RELU, name: 'SOFTMAX', code: 25 };
  const g = new GraphBuilder();
  const x = g.input('x', [1, 4]);
  const y = g.tensor('y', [1, 4]);
  g.op('SOFTMAX', [x], [y]);
  g.output(y);
  const bytes = g.finish();
  for (const backend of ['reference', 'wasm'] as const) {
    const it = Interpreter.fromBytes(bytes, { backend, resolver: new OpResolver(1).add(fake) }).allocate();
    it.setInput(0, [-1, 2, -3, 4]);
    it.invoke();
    assert.equal(Array.from(it.outputView(0)), [0, 2, 0, 4]);
  }
});

test.run();
