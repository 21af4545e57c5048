// Rng.fillNormal is a self-contained loop (no helper calls, so nothing is boxed when V8 does not inline them);
// it must give exactly the stream of repeated normal() calls: seeded runs, checkpoints and the shipped demo
// plans depend on it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Rng } from '../../src/util/rng.js';

test('fillNormal = repeated normal(): same values, same spare, same state, at any offset and parity', () => {
  for (const seed of [0, 1, 42, 123456789, 0xffffffff]) {
    for (const [off, len, pre] of [[0, 33, 0], [3, 16, 1], [0, 1, 3], [5, 0, 1], [0, 1000, 0]] as const) {
      const a = new Rng(seed), b = new Rng(seed);
      for (let k = 0; k < pre; k++) { a.normal(); b.normal(); }
      const want = new Float32Array(off + len + 2), got = new Float32Array(off + len + 2);
      for (let i = off; i < off + len; i++) want[i] = a.normal();
      b.fillNormal(got, off, len);
      assert.equal(Array.from(got), Array.from(want), `seed ${seed}, offset ${off}, length ${len}, ${pre} drawn before`);
      assert.equal(b.state(), a.state(), 'state and spare after the fill');
      const one = new Float32Array(1);
      for (let k = 0; k < 3; k++) { b.fillNormal(one); assert.is(one[0], Math.fround(a.normal())); }
    }
  }
});

test('fillNormal: a standard normal (mean ≈ 0, variance ≈ 1 over 200,000 draws)', () => {
  const x = new Float32Array(200_000);
  new Rng(7).fillNormal(x);
  let m = 0, v = 0;
  for (const e of x) m += e;
  m /= x.length;
  for (const e of x) v += (e - m) ** 2;
  v /= x.length;
  assert.ok(Math.abs(m) < 0.01 && Math.abs(v - 1) < 0.01, `mean ${m}, variance ${v}`);
});

test.run();
