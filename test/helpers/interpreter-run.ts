/** Small helpers the runtime suites share: one-shot invoke, a deterministic fill, and the max element difference. */
import * as assert from 'uvu/assert';
import { Interpreter, type InterpreterOptions } from '../../src/planner/runtime/interpreter.js';

/** Deterministic pseudo-random values in [−amp, amp] (a sine hash of seed and index). */
export function fill(v: Float32Array, seed: number, amp = 1.6): void {
  for (let i = 0; i < v.length; i++) v[i] = Math.sin(seed * 12.9898 + i * 78.233) * amp;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.is(a.length, b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

/** Load, allocate, set every input, invoke once; copies of the outputs. */
export function run(bytes: Uint8Array, inputs: Float32Array[], opts: InterpreterOptions = {}): Float32Array[] {
  const it = Interpreter.fromBytes(bytes, opts).allocate();
  inputs.forEach((x, i) => it.setInput(i, x));
  it.invoke();
  return Array.from({ length: it.outputCount }, (_, i) => it.outputView(i).slice());
}
