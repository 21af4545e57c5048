// The PRNG family (src/util/rng.ts): the two frozen streams stay bit-identical to the ones that made the
// shipped datasets, evaluation episodes, exported models and golden fixtures (values recorded from the
// former src/data/rng.ts and src/planner/export/prng.ts before they moved here), and Rng is independent of them.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Rng, SeededRandom, SeededRng } from '../../src/util/rng.js';

test('SeededRng (sfc32, datasets and env resets) is the frozen stream', () => {
  const a = new SeededRng(12345);
  assert.equal(Array.from({ length: 6 }, () => a.u32()), [1601517194, 197557552, 3533845584, 5006639, 209120798, 1779606604]);
  assert.equal([a.normal(), a.normal(), a.normal()], [-0.03759068192834719, 0.1148834908315223, -0.12581038264545416]);
  a.reseed(12345);
  assert.is(a.u32(), 1601517194);
});

test('SeededRandom (mulberry32, export calibration and golden fixtures) is the frozen stream', () => {
  const b = new SeededRandom(12345);
  assert.equal(Array.from({ length: 6 }, () => Math.round(b.next() * 4294967296)), [4207900869, 1317490944, 2079646450, 3513001552, 2187978186, 1492380277]);
  assert.equal([b.normal(), b.normal(), b.normal()], [0.23482527217680943, -2.2712994398101762, 0.036207670102510664]);
});

test('Rng, the family\'s generator, is a different stream from both frozen ones for the same seed', () => {
  const r = new Rng(12345);
  const first = r.nextU32();
  assert.is.not(first, 1601517194);
  assert.is.not(first, 4207900869);
  assert.is(new Rng(12345).nextU32(), first);
});

test.run();
