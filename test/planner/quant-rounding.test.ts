// The one pair of rounding helpers (runtime/quant.ts, used by the exporter's quantizer too) agrees
// with the floor(x + 0.5) / `r & 1` forms the runtime's tables and multipliers were built with, on
// every kind of float32 the code feeds them (ties, near-ties, large, negative), so merging the two
// quant.ts copies changed no table, multiplier or kernel digest.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { roundHalfAway, roundHalfEven } from '../../src/planner/runtime/quant.js';
import { Rng } from '../../src/util/rng.js';

const oldAway = (x: number): number => (x >= 0 ? Math.floor(x + 0.5) : -Math.floor(-x + 0.5));
const oldEven = (x: number): number => { const r = Math.round(x); return r - x === 0.5 && (r & 1) !== 0 ? r - 1 : r; };

function float32Cases(): number[] {
  const out: number[] = [];
  for (let k = -300; k <= 300; k++) out.push(k / 2, k / 2 + 2 ** -20, k / 2 - 2 ** -20);
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  const rng = new Rng(7);
  for (let i = 0; i < 200_000; i++) {
    // random float32 bit patterns with exponents up to 2^30 (finite)
    u[0] = (rng.nextU32() & 0x8000_0000) | ((rng.nextU32() % (127 + 31)) << 23) | (rng.nextU32() & 0x7f_ffff);
    out.push(f[0]!);
  }
  out.push(Math.fround(0.49999997), -Math.fround(0.49999997), 2 ** 30 + 0.5, -(2 ** 30) - 0.5);
  return out;
}

test('roundHalfAway / roundHalfEven equal the previous runtime forms on float32 inputs', () => {
  let n = 0;
  for (const x of float32Cases()) {
    assert.is(roundHalfAway(x), oldAway(x), `away ${x}`);
    assert.is(roundHalfEven(x), oldEven(x), `even ${x}`);
    n++;
  }
  assert.ok(n > 200_000);
});

test('ties: away from zero vs to even', () => {
  assert.equal([2.5, -2.5, 3.5, -3.5, 0.5, -0.5].map(roundHalfAway), [3, -3, 4, -4, 1, -1]);
  assert.equal([2.5, -2.5, 3.5, -3.5, 0.5, -0.5].map(roundHalfEven).map((v) => v + 0), [2, -2, 4, -4, 0, 0]);
});

test.run();
